use leptos::prelude::*;

use crate::development::LOAD_USERS;
use crate::server_fns::SignInChoice;

/// Development only: sign in as a made-up veteran, named or load-test.
#[component]
pub fn TestUserForms(users: Vec<SignInChoice>) -> impl IntoView {
    let load_hint = format!("load-1 to load-{LOAD_USERS}");
    view! {
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
