//! The console's pages. Every figure is in a table a screen reader can
//! read; the chart repeats the table's figures, it does not replace them.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::model::{
    DriftLine, HourOfAttempts, Overview, ReportView, RequestFilter, RequestLine, RequestView,
    RolloutChange, RolloutLine, WebhookLine,
};
use super::server_fns::{console_overview, console_report, console_request, console_requests};
use crate::development::TEST_OPERATORS;
use crate::domain::{Operator, OperatorRole};
use crate::server_fns::sign_in_options;
use crate::PageError;

/// Where the operator is, who they are, and the way out.
#[component]
fn ConsoleNav(operator: Operator) -> impl IntoView {
    view! {
        <nav class="console-nav" aria-label="Console">
            <ul>
                <li><a href="/console">"Overview"</a></li>
                <li><a href="/console/requests">"Requests"</a></li>
                <li><a href="/console/report">"Remediation report"</a></li>
            </ul>
            <p>
                "Signed in as " <strong data-testid="operator">{operator.id}</strong>
                " (" {operator.role.as_str()} ")."
            </p>
            <form method="post" action="/console/sign-out">
                <button type="submit" class="link-button">"Sign out of the console"</button>
            </form>
        </nav>
    }
}

/// What a page shows when its figures could not be had.
#[component]
fn Problem(error: PageError) -> impl IntoView {
    let signed_out = error == PageError::SignedOut;
    view! {
        <p class="error" role="alert">{error.to_string()}</p>
        {signed_out.then(|| view! { <p><a href="/console/sign-in">"Sign in to the console"</a></p> })}
    }
}

/// `/console/sign-in`: at the operators' OpenID provider, and in
/// development as a made-up operator of each role.
#[component]
pub fn ConsoleSignInPage() -> impl IntoView {
    let options = Resource::new(|| (), |_| sign_in_options(true));
    view! {
        <Title text="Sign in to the console"/>
        <h1>"Sign in to the console"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || options.get().map(|found| match found {
                Ok(options) if options.provider || options.test_users.is_some() => view! {
                    {options.provider.then(|| view! {
                        <p>"You'll sign in with your VA account, then come back here."</p>
                        <form method="post" action="/console/sign-in/start">
                            <button type="submit" class="usa-button" data-sign-in="provider">"Sign in"</button>
                        </form>
                    })}
                    {options.test_users.is_some().then(|| view! { <TestOperators/> })}
                }.into_any(),
                _ => view! { <p>"Operator sign-in isn't set up on this site. Contact the team that runs it."</p> }.into_any(),
            })}
        </Suspense>
    }
}

/// Development only: sign in as a made-up operator.
#[component]
fn TestOperators() -> impl IntoView {
    view! {
        <p>"This is a test site. Choose a made-up operator to sign in as."</p>
        <form method="post" action="/console/sign-in/mock" class="test-users">
            <ul>
                {TEST_OPERATORS.iter().map(|operator| view! {
                    <li>
                        <button type="submit" name="user" value=operator.id data-user=operator.id class="usa-button">
                            <span class="user-name">{operator.id}</span>
                            <span class="user-description">{operator.description}</span>
                        </button>
                    </li>
                }).collect_view()}
            </ul>
        </form>
    }
}

/// `/console`: requests by state, the oldest pending, provider calls over
/// the last hours, and the provider's state.
#[component]
pub fn ConsoleOverviewPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| console_overview());
    view! {
        <Title text="Console"/>
        <h1>"Console"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || overview.get().map(|found| match found {
                Ok(overview) => view! { <OverviewBody overview/> }.into_any(),
                Err(error) => view! { <Problem error/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn OverviewBody(overview: Overview) -> impl IntoView {
    let Overview {
        operator,
        by_state,
        oldest_pending,
        outcomes,
        hours,
        circuit,
        answering,
        budget,
        rollout,
        rollout_changes,
        webhooks,
    } = overview;
    let admin = operator.role == OperatorRole::Admin;
    view! {
        <ConsoleNav operator/>
        <Rollout rollout changes=rollout_changes admin/>
        <Webhooks webhooks/>
        <h2>"Requests"</h2>
        <table class="usa-table" data-testid="by-state">
            <caption>"Requests by state"</caption>
            <thead><tr><th scope="col">"State"</th><th scope="col">"Requests"</th></tr></thead>
            <tbody>
                {by_state.into_iter().map(|row| view! {
                    <tr><th scope="row">{row.label}</th><td>{row.count}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
        <p data-testid="oldest-pending">
            {match oldest_pending {
                Some(age) => format!("The oldest pending request has waited {age}."),
                None => "No request is pending.".to_owned(),
            }}
        </p>
        <h2>"The provider"</h2>
        <ul>
            <li>"Circuit: " {circuit}</li>
            <li>"Last hour: " {answering}</li>
            <li>"Budget: " {budget}</li>
        </ul>
        <h2>"Provider calls, last hours"</h2>
        <AttemptsChart outcomes=outcomes.clone() hours=hours.clone()/>
        <table class="usa-table" data-testid="attempts">
            <caption>"Provider calls by hour and outcome (Eastern Time)"</caption>
            <thead>
                <tr>
                    <th scope="col">"Hour"</th>
                    {outcomes.iter().map(|outcome| view! { <th scope="col">{outcome.clone()}</th> }).collect_view()}
                </tr>
            </thead>
            <tbody>
                {hours.into_iter().map(|hour| view! {
                    <tr>
                        <th scope="row">{hour.label}</th>
                        {hour.counts.into_iter().map(|n| view! { <td>{n}</td> }).collect_view()}
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// The rollout flag: which path each ITF type takes, its changes, and, for
/// an admin, the form that changes compensation's (the kill switch).
#[component]
fn Rollout(rollout: Vec<RolloutLine>, changes: Vec<RolloutChange>, admin: bool) -> impl IntoView {
    view! {
        <h2>"Rollout"</h2>
        <table class="usa-table" data-testid="rollout">
            <caption>"Which path each ITF type takes"</caption>
            <thead><tr><th scope="col">"ITF type"</th><th scope="col">"Flag"</th><th scope="col">"Last change"</th></tr></thead>
            <tbody>
                {rollout.into_iter().map(|line| view! {
                    <tr><th scope="row">{line.itf_type}</th><td>{line.rollout}</td><td>{line.changed}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
        <p>
            "Off is the kill switch: new requests wait for the provider, as before; "
            "requests already queued keep going. Pension and survivor always wait."
        </p>
        {admin.then(|| view! {
            <form method="post" action="/console/rollout" class="rollout-form">
                <fieldset class="usa-fieldset">
                    <legend>"Set compensation's flag"</legend>
                    <div class="usa-radio"><input class="usa-radio__input" type="radio" id="rollout-on" name="rollout" value="on" required/><label class="usa-radio__label" for="rollout-on">"On: every veteran's request is recorded at once"</label></div>
                    <div class="usa-radio"><input class="usa-radio__input" type="radio" id="rollout-percent" name="rollout" value="percent"/><label class="usa-radio__label" for="rollout-percent">"A share of veterans"</label></div>
                    <label class="usa-label" for="rollout-share">"Share, in percent (0 to 100), with “A share of veterans”"</label>
                    <input class="usa-input" type="number" id="rollout-share" name="percent" min="0" max="100"/>
                    <div class="usa-radio"><input class="usa-radio__input" type="radio" id="rollout-off" name="rollout" value="off"/><label class="usa-radio__label" for="rollout-off">"Off: wait for the provider (the kill switch)"</label></div>
                </fieldset>
                <label class="usa-label" for="rollout-reason">"Why (kept in the audit log)"</label>
                <textarea class="usa-textarea" id="rollout-reason" name="reason" required></textarea>
                <button type="submit" class="usa-button">"Set the flag"</button>
            </form>
        })}
        <table class="usa-table" data-testid="rollout-changes">
            <caption>"Latest changes of the flag"</caption>
            <thead><tr><th scope="col">"When"</th><th scope="col">"By"</th><th scope="col">"From"</th><th scope="col">"To"</th><th scope="col">"Why"</th></tr></thead>
            <tbody>
                {changes.into_iter().map(|change| view! {
                    <tr><td>{change.at}</td><td>{change.by}</td><td>{change.before}</td><td>{change.after}</td><td>{change.reason}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// Events for other services that their endpoint has not accepted.
#[component]
fn Webhooks(webhooks: Vec<WebhookLine>) -> impl IntoView {
    view! {
        <h2>"Webhook events"</h2>
        {if webhooks.is_empty() {
            view! { <p data-testid="webhooks">"Every endpoint has accepted every event sent to it."</p> }.into_any()
        } else {
            view! {
                <table class="usa-table" data-testid="webhooks">
                    <caption>"Events an endpoint has not accepted (the endpoint is alerted after 3 tries)"</caption>
                    <thead><tr>
                        <th scope="col">"Event"</th><th scope="col">"Request"</th><th scope="col">"Endpoint"</th>
                        <th scope="col">"State"</th><th scope="col">"Tries"</th><th scope="col">"Last error"</th><th scope="col">"Since"</th>
                    </tr></thead>
                    <tbody>
                        {webhooks.into_iter().map(|line| view! {
                            <tr>
                                <td>{line.event}<br/><span class="event-id">{line.event_id}</span></td>
                                <td><a href=format!("/console/requests/{}", line.request_id)>{line.request_id.clone()}</a></td>
                                <td>{line.endpoint}</td><td>{line.state}</td><td>{line.tries}</td>
                                <td>{line.last_error}</td><td>{line.since}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
    }
}

/// Stacked bars, one per hour, drawn on the server; the table beside it
/// has the same figures.
#[component]
fn AttemptsChart(outcomes: Vec<String>, hours: Vec<HourOfAttempts>) -> impl IntoView {
    const WIDTH: u64 = 60;
    const HEIGHT: u64 = 120;
    const COLOURS: [&str; 6] = [
        "#005ea2", "#00a91c", "#162e51", "#e5a000", "#d54309", "#8168b3",
    ];
    let most = hours
        .iter()
        .map(|hour| hour.counts.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let width = WIDTH * hours.len().max(1) as u64;
    let bars = hours
        .iter()
        .enumerate()
        .flat_map(|(column, hour)| {
            let mut top = HEIGHT;
            hour.counts
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(kind, n)| {
                    let height = (n * HEIGHT).div_ceil(most);
                    top = top.saturating_sub(height);
                    view! {
                        <rect
                            x=(column as u64 * WIDTH + 10).to_string()
                            y=top.to_string()
                            width=(WIDTH - 20).to_string()
                            height=height.to_string()
                            fill=COLOURS[kind % COLOURS.len()]
                        />
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect_view();
    let legend = outcomes
        .iter()
        .enumerate()
        .map(|(kind, outcome)| view! {
            <li><span class="swatch" style=format!("background:{}", COLOURS[kind % COLOURS.len()])></span>{outcome.clone()}</li>
        })
        .collect_view();
    view! {
        <figure class="attempts-chart" aria-hidden="true">
            <svg viewBox=format!("0 0 {width} {HEIGHT}") width=width.to_string() height=HEIGHT.to_string()>
                {bars}
            </svg>
            <ul class="legend">{legend}</ul>
        </figure>
    }
}

fn filter_from(query: &leptos_router::params::ParamsMap) -> RequestFilter {
    let text = |name: &str| query.get(name).filter(|value| !value.trim().is_empty());
    RequestFilter {
        state: text("state"),
        since: text("since"),
        until: text("until"),
        older_than_minutes: text("older_than_minutes").and_then(|n| n.trim().parse().ok()),
    }
}

/// `/console/requests`: filter by state, age and received date; find one
/// by request id or by ICN (posted, never in the address).
#[component]
pub fn ConsoleRequestsPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || filter_from(&query.read());
    let not_found = move || query.read().get("found").as_deref() == Some("none");
    let requests = Resource::new(filter, console_requests);
    view! {
        <Title text="Requests"/>
        <h1>"Requests"</h1>
        {move || not_found().then(|| view! {
            <p class="error" role="alert">"No request was found for what you entered. Check it and try again."</p>
        })}
        <form method="post" action="/console/search" class="find">
            <label for="find-request">"Find a request by its id"</label>
            <input id="find-request" name="request_id" type="text" autocomplete="off"/>
            <button type="submit" class="usa-button-secondary">"Find the request"</button>
        </form>
        <form method="post" action="/console/search" class="find">
            <label for="find-icn">"Find a veteran's requests by ICN"</label>
            <input id="find-icn" name="icn" type="text" autocomplete="off" inputmode="text"/>
            <button type="submit" class="usa-button-secondary">"Find by ICN"</button>
        </form>
        <form method="get" action="/console/requests" class="filter">
            <label for="state">"State"</label>
            <select id="state" name="state">
                <option value="">"Any"</option>
                <option value="pending">"pending"</option>
                <option value="needs_attention">"needs_attention"</option>
                <option value="active">"active"</option>
            </select>
            <label for="since">"Received on or after (YYYY-MM-DD)"</label>
            <input id="since" name="since" type="date"/>
            <label for="until">"Received on or before (YYYY-MM-DD)"</label>
            <input id="until" name="until" type="date"/>
            <label for="older">"Received at least this many minutes ago"</label>
            <input id="older" name="older_than_minutes" type="number" min="0"/>
            <button type="submit" class="usa-button">"Show requests"</button>
        </form>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || requests.get().map(|found| match found {
                Ok(lines) => view! { <RequestTable lines caption="Requests, oldest first"/> }.into_any(),
                Err(error) => view! { <Problem error/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn RequestTable(lines: Vec<RequestLine>, caption: &'static str) -> impl IntoView {
    if lines.is_empty() {
        return view! { <p>"None."</p> }.into_any();
    }
    view! {
        <table class="usa-table" data-testid="requests">
            <caption>{caption}</caption>
            <thead>
                <tr>
                    <th scope="col">"Request"</th>
                    <th scope="col">"Type"</th>
                    <th scope="col">"State"</th>
                    <th scope="col">"Received"</th>
                    <th scope="col">"Waiting"</th>
                </tr>
            </thead>
            <tbody>
                {lines.into_iter().map(|line| view! {
                    <tr>
                        <th scope="row"><a href=format!("/console/requests/{}", line.id)>{line.id.clone()}</a></th>
                        <td>{line.itf_type}</td>
                        <td>{line.state}</td>
                        <td>{line.received}</td>
                        <td>{line.age}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// `/console/requests/{id}`: the request, its timeline, and its repairs.
#[component]
pub fn ConsoleRequestPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let request = Resource::new(id, console_request);
    view! {
        <Title text="Request"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || request.get().map(|found| match found {
                Ok(Some(request)) => view! { <RequestBody request/> }.into_any(),
                Ok(None) => view! { <h1>"Request"</h1><Problem error=PageError::NotFound/> }.into_any(),
                Err(error) => view! { <h1>"Request"</h1><Problem error/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn RequestBody(request: RequestView) -> impl IntoView {
    let RequestView {
        operator,
        id,
        itf_type,
        state,
        received,
        itf,
        last_error,
        timeline,
        others,
    } = request;
    let repairs = operator.role.repairs();
    let needs_attention = state == "needs_attention";
    let open = state != "active";
    view! {
        <ConsoleNav operator=operator.clone()/>
        <h1>"Request " <span data-testid="request-id">{id.clone()}</span></h1>
        <dl class="request-summary">
            <dt>"State"</dt><dd data-testid="request-state">{state.clone()}</dd>
            <dt>"ITF type"</dt><dd>{itf_type}</dd>
            <dt>"Received"</dt><dd>{received}</dd>
            {itf.map(|itf| view! {
                <dt>"ITF"</dt><dd>{itf.id}</dd>
                <dt>"ITF created"</dt><dd>{itf.created}</dd>
                <dt>"ITF expires"</dt><dd>{itf.expires}</dd>
            })}
            {last_error.map(|error| view! { <dt>"Last error"</dt><dd>{error}</dd> })}
        </dl>
        <h2>"Timeline"</h2>
        <table class="usa-table" data-testid="timeline">
            <caption>"What happened to this request, oldest first (Eastern Time)"</caption>
            <thead>
                <tr><th scope="col">"When"</th><th scope="col">"What"</th><th scope="col">"Detail"</th></tr>
            </thead>
            <tbody>
                {timeline.into_iter().map(|entry| view! {
                    <tr data-kind=entry.kind>
                        <td>{entry.at}</td>
                        <td>{entry.what}</td>
                        <td>{entry.detail}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        <h2>"Repair"</h2>
        {(!repairs).then(|| view! {
            <p>"Your role, " {operator.role.as_str()} ", can read requests but not change them."</p>
        })}
        {needs_attention.then(|| view! {
            <form method="post" action=format!("/console/requests/{id}/retry") class="repair">
                <h3>"Retry"</h3>
                <p>"Send the request to the provider again. Its received date never changes."</p>
                <label for="retry-reason">"Reason"</label>
                <textarea id="retry-reason" name="reason" required=true></textarea>
                <button type="submit" class="usa-button">"Retry this request"</button>
            </form>
        })}
        {open.then(|| view! {
            <form method="post" action=format!("/console/requests/{id}/resolve") class="repair">
                <h3>"Resolve by hand"</h3>
                <p>"Record an ITF made another way, for example by phone."</p>
                <label for="resolve-reason">"Reason"</label>
                <textarea id="resolve-reason" name="reason" required=true></textarea>
                <label for="itf-id">"The ITF's id"</label>
                <input id="itf-id" name="itf_id" type="text" required=true/>
                <label for="creation-date">"The ITF's date (YYYY-MM-DD)"</label>
                <input id="creation-date" name="creation_date" type="date" required=true/>
                <label for="expiration-date">"Its expiration date (YYYY-MM-DD; a year later when left empty)"</label>
                <input id="expiration-date" name="expiration_date" type="date"/>
                <button type="submit" class="usa-button-secondary">"Resolve this request"</button>
            </form>
        })}
        <form method="post" action=format!("/console/requests/{id}/note") class="repair">
            <h3>"Note"</h3>
            <label for="note">"A note for the record"</label>
            <textarea id="note" name="reason" required=true></textarea>
            <button type="submit" class="usa-button-secondary">"Add the note"</button>
        </form>
        <h2>"The veteran's other requests"</h2>
        <RequestTable lines=others caption="The veteran's other requests, newest first"/>
    }
}

/// `/console/report`: the remediation report.
#[component]
pub fn ConsoleReportPage() -> impl IntoView {
    let query = use_query_map();
    let days = move || {
        let query = query.read();
        (query.get("since"), query.get("until"))
    };
    let report = Resource::new(days, |(since, until)| console_report(since, until));
    view! {
        <Title text="Remediation report"/>
        <h1>"Remediation report"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || report.get().map(|found| match found {
                Ok(report) => view! { <ReportBody report/> }.into_any(),
                Err(error) => view! { <Problem error/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn ReportBody(report: ReportView) -> impl IntoView {
    let ReportView {
        operator,
        since,
        until,
        drift,
        needs_attention,
        long_pending,
        pending_after,
    } = report;
    let csv = format!("/console/report/date-drift.csv?since={since}&until={until}");
    let downloads = operator.role.repairs();
    view! {
        <ConsoleNav operator/>
        <form method="get" action="/console/report" class="filter">
            <label for="since">"Received on or after (YYYY-MM-DD)"</label>
            <input id="since" name="since" type="date" value=since.clone()/>
            <label for="until">"Received on or before (YYYY-MM-DD)"</label>
            <input id="until" name="until" type="date" value=until.clone()/>
            <button type="submit" class="usa-button">"Show the report"</button>
        </form>
        <h2>"Date drift"</h2>
        <p>
            "Requests received from " {since} " to " {until}
            " whose ITF the provider dated on a later day (Eastern Time) than we received them."
        </p>
        {if downloads {
            view! { <p><a href=csv data-testid="csv">"Download as CSV (with ICNs; the download is recorded)"</a></p> }.into_any()
        } else {
            view! { <p>"Only an operator or an admin can download the report with ICNs."</p> }.into_any()
        }}
        <DriftTable drift/>
        <h2>"Needing attention"</h2>
        <RequestTable lines=needs_attention caption="Requests that need attention, oldest first"/>
        <h2>"Pending longer than " {pending_after.clone()}</h2>
        <RequestTable lines=long_pending caption="Long-pending requests, oldest first"/>
    }
}

#[component]
fn DriftTable(drift: Vec<DriftLine>) -> impl IntoView {
    if drift.is_empty() {
        return view! { <p data-testid="drift-none">"None in these days."</p> }.into_any();
    }
    view! {
        <table class="usa-table" data-testid="drift">
            <caption>"Date drift, oldest first"</caption>
            <thead>
                <tr>
                    <th scope="col">"Request"</th>
                    <th scope="col">"ICN"</th>
                    <th scope="col">"Received"</th>
                    <th scope="col">"Provider's date"</th>
                    <th scope="col">"ITF"</th>
                    <th scope="col">"Days later"</th>
                </tr>
            </thead>
            <tbody>
                {drift.into_iter().map(|line| view! {
                    <tr>
                        <th scope="row"><a href=format!("/console/requests/{}", line.request_id)>{line.request_id.clone()}</a></th>
                        <td>{line.icn}</td>
                        <td>{line.received}</td>
                        <td>{line.created}</td>
                        <td>{line.itf_id}</td>
                        <td data-testid="days">{line.days}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
