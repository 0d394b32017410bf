use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::TestUserForms;
use crate::server_fns::{sign_in_options, SignInChoice};

#[component]
pub fn SignInPage() -> impl IntoView {
    let options = Resource::new(|| (), |_| sign_in_options(false));

    view! {
        <Title text="Sign in"/>
        <h1>"Sign in"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || options.get().map(|result| match result {
                Ok(options) if options.provider || options.test_users.is_some() => view! {
                    {options.provider.then(|| view! { <ProviderSignIn/> })}
                    {options.test_users.map(|users| view! { <MockSignIn users/> })}
                }.into_any(),
                Ok(_) => view! {
                    <p>
                        "Sign-in isn't set up on this site yet. "
                        "Contact the team that runs it."
                    </p>
                }.into_any(),
                Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
            })}
        </Suspense>
    }
}

/// Sign-in at VA's sign-in service, and back.
#[component]
fn ProviderSignIn() -> impl IntoView {
    view! {
        <p>"You'll sign in on VA's sign-in page, then come back here."</p>
        <form method="post" action="/sign-in/start">
            <button type="submit" class="usa-button" data-sign-in="provider">"Sign in"</button>
        </form>
    }
}

/// Development only: sign in as a made-up veteran.
#[component]
fn MockSignIn(users: Vec<SignInChoice>) -> impl IntoView {
    view! {
        <p>"This is a test site. Choose a made-up veteran to sign in as."</p>
        <TestUserForms users/>
    }
}
