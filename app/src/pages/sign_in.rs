use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::TestUserForms;
use crate::server_fns::{sign_in_choices, SignInChoice};

#[component]
pub fn SignInPage() -> impl IntoView {
    let choices = Resource::new(|| (), |_| sign_in_choices());

    view! {
        <Title text="Sign in"/>
        <h1>"Sign in"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || choices.get().map(|result| match result {
                Ok(Some(users)) => view! { <MockSignIn users/> }.into_any(),
                Ok(None) => view! {
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

/// Development only: sign in as a made-up veteran.
#[component]
fn MockSignIn(users: Vec<SignInChoice>) -> impl IntoView {
    view! {
        <p>"This is a test site. Choose a made-up veteran to sign in as."</p>
        <TestUserForms users/>
    }
}
