use leptos::prelude::*;
use leptos_meta::Title;

use crate::domain::LOAD_USERS;
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
    let load_hint = format!("load-1 to load-{LOAD_USERS}");
    view! {
        <p>"This is a test site. Choose a made-up veteran to sign in as."</p>
        <form method="post" action="/sign-in/mock" class="test-users">
            <ul>
                {users.into_iter().map(|user| view! {
                    <li>
                        <button type="submit" name="user" value=user.id.clone() data-user=user.id class="usa-button">
                            <span class="user-name">{user.name}</span>
                            <span class="user-description">{user.description}</span>
                        </button>
                    </li>
                }).collect_view()}
            </ul>
        </form>
        <form method="post" action="/sign-in/mock" class="load-user">
            <label for="load-user">"Or a load-test veteran (" {load_hint} ")"</label>
            <input id="load-user" name="user" type="text" required=true autocomplete="off"/>
            <button type="submit" class="usa-button-secondary">"Sign in as this veteran"</button>
        </form>
    }
}
