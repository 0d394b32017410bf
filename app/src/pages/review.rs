use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::TestUserForms;
use crate::server_fns::{load_review_settings, test_user_choices, ReviewSettings};

const MODES: [(&str, &str); 6] = [
    ("up", "Up: answers normally"),
    ("down", "Down: 503 to every call"),
    ("maintenance", "Maintenance: 503 with a maintenance message"),
    ("slow", "Slow: answers after the client gives up"),
    ("flaky", "Flaky: 30% of calls fail"),
    ("throttled", "Throttled: 429 with Retry-After"),
];

/// UX review mode: set up any of the six states of the start page.
#[component]
pub fn ReviewPage() -> impl IntoView {
    let settings = Resource::new(|| (), |_| load_review_settings());
    view! {
        <Title text="Review the start page"/>
        <h1>"Review the start page"</h1>
        <Suspense fallback=|| ()>
            {move || settings.get().map(|found| match found {
                Ok(Some(settings)) => view! { <Controls settings/> }.into_any(),
                _ => view! { <p>"Review mode is off on this site."</p> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Controls(settings: ReviewSettings) -> impl IntoView {
    let current = settings.mode.clone();
    view! {
        <p>
            "Set the simulated ITF provider's mode, pick a made-up veteran, and open the start page. "
            "How to reach each state:"
        </p>
        <ul class="how-to">
            <li><strong>"active"</strong>": mode up, Wanda Brooks."</li>
            <li><strong>"pending"</strong>": mode down, Hector Allen or a load-test veteran."</li>
            <li><strong>"confirmed"</strong>": open a pending page, then set the mode to up and watch the page."</li>
            <li><strong>"delayed"</strong>": set the delay to 0 minutes, then open a pending page."</li>
            <li><strong>"needs_attention"</strong>": mode up, Dana Evans; the page changes within seconds."</li>
            <li><strong>"unavailable"</strong>": sign in first, then turn the database outage on."</li>
        </ul>

        <h2>"Provider mode"</h2>
        <p data-testid="current-mode">"Now: " <strong>{current.clone()}</strong></p>
        <form method="post" action="/review/mode" class="review-modes">
            {MODES.into_iter().map(|(mode, words)| view! {
                <button type="submit" name="mode" value=mode class=if mode == current { "usa-button" } else { "usa-button-secondary" }>{words}</button>
            }).collect_view()}
        </form>

        <h2>"Delayed after"</h2>
        <form method="post" action="/review/delay" class="review-delay">
            <label for="delay-minutes">"Show a pending request as delayed after this many minutes"</label>
            <input id="delay-minutes" name="minutes" type="number" min="0" value=settings.delayed_after_minutes.to_string()/>
            <button type="submit" class="usa-button-secondary">"Save"</button>
        </form>

        <h2>"Our database"</h2>
        <form method="post" action="/review/outage">
            <p data-testid="outage">{if settings.outage { "It looks down now." } else { "It is up." }}</p>
            <button type="submit" name="down" value=(!settings.outage).to_string() class="usa-button-secondary">
                {if settings.outage { "End the outage" } else { "Make it look down" }}
            </button>
        </form>

        <h2>"Sign in and open the start page"</h2>
        <TestUserForms users=test_user_choices()/>
    }
}
