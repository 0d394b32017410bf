use leptos::prelude::*;
use leptos_meta::Title;

/// Where "Start your application" leads: the configured form, or this
/// placeholder that says where the 526 form would begin.
#[component]
pub fn ApplicationPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(url) = crate::session::surfaces().application_url {
        leptos_axum::redirect(&url);
    }
    view! {
        <Title text="Your disability compensation application"/>
        <h1>"Your disability compensation application"</h1>
        <p data-testid="application-start">
            "This is where VA Form 21-526EZ would begin. Your Intent to File request, if any, "
            "keeps going in the background while you fill it in."
        </p>
        <p><a href="/">"Go back to the start page"</a></p>
    }
}
