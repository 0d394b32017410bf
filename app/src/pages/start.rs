use leptos::prelude::*;
use leptos_meta::Title;

use crate::domain::eastern_time;
use crate::server_fns::load_greeting;

/// The start page of VA Form 21-526EZ for the signed-in veteran.
#[component]
pub fn StartPage() -> impl IntoView {
    let greeting = Resource::new(|| (), |_| load_greeting());

    view! {
        <Title text="File for disability compensation"/>
        <h1>"File for disability compensation"</h1>
        <p class="form-number">"VA Form 21-526EZ"</p>
        <section class="panel" aria-live="polite">
            <Suspense fallback=|| view! { <p>"Loading your information…"</p> }>
                {move || greeting.get().map(|result| match result {
                    Ok(found) => view! {
                        <p>"You're signed in as " <strong data-testid="veteran-name">{found.name}</strong> "."</p>
                        <p class="checked-at" data-checked-at=found.checked_at.to_rfc3339()>
                            "Last checked at " {eastern_time(found.checked_at)} "."
                        </p>
                    }.into_any(),
                    Err(error) => view! {
                        <p class="error" role="alert">{error.to_string()}</p>
                    }.into_any(),
                })}
            </Suspense>
            <button type="button" class="secondary" on:click=move |_| greeting.refetch()>
                "Check again"
            </button>
        </section>
        <form method="post" action="/sign-out">
            <button type="submit" class="link-button">"Sign out"</button>
        </form>
    }
}
