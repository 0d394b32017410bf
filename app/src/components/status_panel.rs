//! The ITF status panel: one of six states, in words a veteran can act on.
//! Nothing here says an ITF was created, submitted or is on file before the
//! provider confirmed it, and a waiting state never uses a success alert.

use leptos::prelude::*;

use crate::domain::{ItfPanel, PanelState};

/// The panel, kept current: while a request is waiting it asks the server
/// again, every few seconds at first and less often later, and not while
/// the tab is hidden. Changes are announced politely to screen readers.
#[component]
pub fn StatusPanel(initial: ItfPanel) -> impl IntoView {
    let panel = RwSignal::new(initial);
    let checking = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if panel.get_untracked().state.is_waiting() {
            polling::start(panel, checking);
        }
    });
    let check_now = move |event: leptos::ev::MouseEvent| {
        event.prevent_default();
        #[cfg(feature = "hydrate")]
        polling::check_now(panel, checking);
    };

    view! {
        <div
            class="itf-panel"
            aria-live="polite"
            data-itf-state=move || panel.get().state.as_str()
            aria-busy=move || checking.get().to_string()
        >
            {move || {
                let shown = panel.get();
                let again = again_link(&shown);
                view! {
                    <Message panel=shown/>
                    {again.map(|(href, words)| view! {
                        <p class="check-again"><a href=href on:click=check_now>{words}</a></p>
                    })}
                }
            }}
        </div>
    }
}

/// Waiting and unavailable states offer to look again; without
/// WebAssembly the link reloads the page.
fn again_link(panel: &ItfPanel) -> Option<(String, &'static str)> {
    match panel.state {
        PanelState::Pending | PanelState::Delayed => Some((
            panel
                .request_id
                .as_ref()
                .map_or_else(|| "/".to_owned(), |id| format!("/?request={id}")),
            "Check again",
        )),
        PanelState::Unavailable | PanelState::Unconfirmed => Some(("/".to_owned(), "Try again")),
        _ => None,
    }
}

#[component]
fn Message(panel: ItfPanel) -> impl IntoView {
    let received = panel.received_date.clone().unwrap_or_default();
    let dates = match (&panel.creation_date, &panel.expiration_date) {
        (Some(created), Some(expires)) => Some((created.clone(), expires.clone())),
        _ => None,
    };
    match panel.state {
        PanelState::Active => {
            let as_of = panel.as_of.clone();
            view! {
                <va-alert status="success" visible="true">
                    <h2 slot="headline">"You already have an Intent to File"</h2>
                    {dates.map(|(created, expires)| view! { <Dates created expires/> })}
                    {as_of.map(|when| view! {
                        <p class="as-of">
                            "We can't reach the Intent to File system right now. "
                            "This is what our records showed as of " {when} "."
                        </p>
                    })}
                    <p>"File your claim before it expires to keep your potential start date for benefits."</p>
                </va-alert>
            }
            .into_any()
        }
        PanelState::Confirmed => view! {
            <va-alert status="success" visible="true">
                <h2 slot="headline">"Your Intent to File is confirmed"</h2>
                {dates.map(|(created, expires)| view! { <Dates created expires/> })}
                <p>
                    {panel.emails.then_some("We'll also email you. ")}
                    "You can continue your application."
                </p>
            </va-alert>
        }
        .into_any(),
        PanelState::Pending => {
            let headline = if panel.provider_said_none {
                "We're creating your Intent to File"
            } else {
                "We're making sure you have an Intent to File"
            };
            view! {
                <va-alert status="info" visible="true">
                    <h2 slot="headline">{headline}</h2>
                    {(!panel.provider_said_none).then(|| view! {
                        <p>"If you don't have one, we'll create it."</p>
                    })}
                    <p>
                        "We received your request on " <strong>{received}</strong> ". "
                        {if panel.emails {
                            "We'll email you when it's confirmed. "
                        } else {
                            "Check back here to see when it's confirmed. "
                        }}
                        "You can start your application now."
                    </p>
                </va-alert>
            }
            .into_any()
        }
        PanelState::Delayed => view! {
            <va-alert status="warning" visible="true">
                <h2 slot="headline">"This is taking longer than usual"</h2>
                <p>
                    "Your request is saved with the date you made it (" <strong>{received}</strong> "). "
                    {if panel.emails { "We'll keep trying and email you. " } else { "We'll keep trying. " }}
                    "You can start your application now."
                </p>
            </va-alert>
        }
        .into_any(),
        PanelState::NeedsAttention => view! {
            <va-alert status="warning" visible="true">
                <h2 slot="headline">"We couldn't create your Intent to File automatically"</h2>
                <p>
                    {if panel.follow_up {
                        "We've been notified and will follow up. If you have questions, call us at "
                    } else {
                        "Call us so we can help with it, at "
                    }}
                    <a href="tel:+18008271000">"800-827-1000"</a>
                    " (TTY: 711). We're here Monday through Friday, 8:00 a.m. to 9:00 p.m. ET."
                </p>
                <p>"You can still start your application."</p>
            </va-alert>
        }
        .into_any(),
        PanelState::Unavailable => view! {
            <va-alert status="error" visible="true">
                <h2 slot="headline">"We couldn't save your request right now"</h2>
                <p>"Try again in a few minutes. You can still start your application."</p>
            </va-alert>
        }
        .into_any(),
        // VA.gov's own words for the synchronous path's failure.
        PanelState::Unconfirmed => view! {
            <va-alert status="warning" visible="true">
                <h2 slot="headline">"We can't confirm if we have an Intent to File on record for you right now"</h2>
                <p>"Try again in a few minutes. You can still start your application."</p>
            </va-alert>
        }
        .into_any(),
    }
}

/// An ITF's dates, as the provider confirmed them.
#[component]
fn Dates(created: String, expires: String) -> impl IntoView {
    view! {
        <p>
            "Your Intent to File for disability compensation started on "
            <strong>{created}</strong> " and expires on " <strong>{expires}</strong> "."
        </p>
    }
}

#[cfg(feature = "hydrate")]
mod polling {
    use std::time::Duration;

    use leptos::prelude::*;
    use leptos::task::spawn_local;

    use crate::domain::{ItfPanel, PanelState};
    use crate::server_fns::itf_status;

    const FIRST: Duration = Duration::from_secs(3);
    const LONGEST: Duration = Duration::from_secs(30);
    const WHILE_HIDDEN: Duration = Duration::from_secs(5);

    pub fn start(panel: RwSignal<ItfPanel>, checking: RwSignal<bool>) {
        schedule(panel, checking, FIRST);
    }

    pub fn check_now(panel: RwSignal<ItfPanel>, checking: RwSignal<bool>) {
        spawn_local(async move {
            refresh(panel, checking).await;
        });
    }

    fn schedule(panel: RwSignal<ItfPanel>, checking: RwSignal<bool>, delay: Duration) {
        set_timeout(
            move || {
                if document().hidden() {
                    schedule(panel, checking, WHILE_HIDDEN);
                    return;
                }
                spawn_local(async move {
                    refresh(panel, checking).await;
                    if panel.get_untracked().state.is_waiting() {
                        schedule(panel, checking, (delay * 3 / 2).min(LONGEST));
                    }
                });
            },
            delay,
        );
    }

    async fn refresh(panel: RwSignal<ItfPanel>, checking: RwSignal<bool>) {
        let shown = panel.get_untracked();
        let may_change = matches!(
            shown.state,
            PanelState::Unavailable | PanelState::Unconfirmed
        );
        if !shown.state.is_waiting() && !may_change {
            return;
        }
        checking.set(true);
        // A failed check leaves the panel as it was; the next one may work.
        if let Ok(news) = itf_status(shown.request_id.clone()).await {
            if news != shown {
                panel.set(news);
            }
        }
        checking.set(false);
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    fn rendered(state: PanelState, emails: bool) -> String {
        promising(state, emails, false)
    }

    fn promising(state: PanelState, emails: bool, follow_up: bool) -> String {
        let panel = ItfPanel {
            state,
            emails,
            follow_up,
            received_date: Some("March 16, 2026".to_owned()),
            ..ItfPanel::unavailable()
        };
        Owner::new().with(|| view! { <Message panel/> }.to_html())
    }

    #[test]
    fn the_page_promises_an_email_only_where_messages_reach_the_veteran() {
        for state in [
            PanelState::Pending,
            PanelState::Delayed,
            PanelState::Confirmed,
        ] {
            let promised = rendered(state, true);
            assert!(promised.contains("email you"), "{state:?}: {promised}");
            let unpromised = rendered(state, false);
            assert!(!unpromised.contains("email"), "{state:?}: {unpromised}");
            assert!(unpromised.contains("You can"), "{state:?}: {unpromised}");
        }
    }

    #[test]
    fn the_page_says_the_team_was_notified_only_where_alerts_reach_it() {
        let told = promising(PanelState::NeedsAttention, false, true);
        assert!(told.contains("We've been notified"), "{told}");
        let untold = promising(PanelState::NeedsAttention, false, false);
        assert!(!untold.contains("notified"), "{untold}");
        assert!(!untold.contains("follow up"), "{untold}");
        assert!(untold.contains("800-827-1000"), "{untold}");
    }
}
