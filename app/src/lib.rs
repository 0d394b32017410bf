//! The pages veterans see, their components, and the server functions they
//! call. Compiled twice: for the server (`ssr`) and for the browser
//! (`hydrate`).

pub mod assets;
mod components;
pub mod console;
pub mod development;
pub mod domain;
mod errors;
mod pages;
pub mod server_fns;
pub mod session;

pub use errors::PageError;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{ParamSegment, SsrMode, StaticSegment};

/// The HTML document every page is rendered into. Static files are named
/// under versioned paths (`assets`), so browsers keep them for good.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let vads = assets::design_system();
    let site_css = format!("/{}/itf-async.css", options.site_pkg_dir);
    let hydrated = !assets::serves_console();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" type="image/png" href="/favicon.png"/>
                // The VA Design System, as published (scripts/vads.sh).
                <link rel="stylesheet" href=format!("{vads}/css/core.css")/>
                <link rel="stylesheet" href=format!("{vads}/css/utilities.css")/>
                <link rel="stylesheet" href=format!("{vads}/css/m-action-link.css")/>
                <link rel="stylesheet" href=format!("{vads}/component-library/component-library.css")/>
                <script type="module" src=format!("{vads}/component-library/component-library.esm.js")></script>
                <link rel="stylesheet" id="site" href=site_css/>
                <AutoReload options=options.clone()/>
                {hydrated.then(|| view! { <HydrationScripts options/> })}
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser, so this turns true once hydration is
    // done: tests and people can tell the page is live.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    view! {
        <Title formatter=|page: String| format!("{page} | Veterans Affairs")/>
        <a class="skip-link" href="#main">"Skip to main content"</a>
        <header class="site-header">
            <p class="site-name">"VA.gov"</p>
        </header>
        <Router>
            <main id="main" data-hydrated=move || hydrated.get().to_string()>
                <Routes fallback=pages::NotFound>
                    // Async: the whole page is rendered before it is sent, so it
                    // is complete without JavaScript.
                    <Route path=StaticSegment("") view=pages::StartPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("sign-in") view=pages::SignInPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("application") view=pages::ApplicationPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("review") view=pages::ReviewPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("console") view=console::ConsoleOverviewPage ssr=SsrMode::Async/>
                    <Route path=(StaticSegment("console"), StaticSegment("sign-in")) view=console::ConsoleSignInPage ssr=SsrMode::Async/>
                    <Route path=(StaticSegment("console"), StaticSegment("requests")) view=console::ConsoleRequestsPage ssr=SsrMode::Async/>
                    <Route path=(StaticSegment("console"), StaticSegment("requests"), ParamSegment("id")) view=console::ConsoleRequestPage ssr=SsrMode::Async/>
                    <Route path=(StaticSegment("console"), StaticSegment("report")) view=console::ConsoleReportPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}
