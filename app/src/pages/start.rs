use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::StatusPanel;
use crate::domain::ItfPanel;
use crate::server_fns::{itf_status, load_greeting};

/// The start page of VA Form 21-526EZ for the signed-in veteran: the ITF
/// status panel, and always the way on.
#[component]
pub fn StartPage() -> impl IntoView {
    let query = use_query_map();
    let watching = move || query.read().get("request");
    let status = Resource::new(watching, itf_status);
    let greeting = Resource::new(|| (), |_| load_greeting());

    view! {
        <Title text="File for disability compensation"/>
        <h1>"File for disability compensation"</h1>
        <p class="form-number">"VA Form 21-526EZ"</p>
        <Suspense fallback=|| ()>
            {move || greeting.get().and_then(Result::ok).map(|found| view! {
                <p class="signed-in">"You're signed in as " <strong data-testid="veteran-name">{found.name}</strong> "."</p>
            })}
        </Suspense>
        <section class="itf-status" aria-labelledby="itf-status-heading">
            <h2 id="itf-status-heading" class="vads-u-visibility--screen-reader">"Your Intent to File"</h2>
            <Suspense fallback=|| view! { <p>"Checking your Intent to File…"</p> }>
                {move || status.get().map(|result| {
                    let panel = result.unwrap_or_else(|_| ItfPanel::unavailable());
                    view! { <StatusPanel initial=panel/> }
                })}
            </Suspense>
        </section>
        <p class="start-application">
            <a class="vads-c-action-link--green" href="/application">"Start your application"</a>
        </p>
        <form method="post" action="/sign-out">
            <button type="submit" class="link-button">"Sign out"</button>
        </form>
    }
}
