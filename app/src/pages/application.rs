use leptos::prelude::*;
use leptos_meta::Title;

use crate::domain::SubmissionItf;
use crate::server_fns::submission_itf;

/// Where "Start your application" leads: the configured form, or this
/// placeholder that says where the 526 form would begin and what it would
/// carry about the veteran's Intent to File.
#[component]
pub fn ApplicationPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(url) = crate::session::surfaces().application_url {
        leptos_axum::redirect(&url);
    }
    let carried = Resource::new(|| (), |_| submission_itf());
    view! {
        <Title text="Your disability compensation application"/>
        <h1>"Your disability compensation application"</h1>
        <p data-testid="application-start">
            "This is where VA Form 21-526EZ would begin. Your Intent to File request, if any, "
            "keeps going in the background while you fill it in."
        </p>
        <h2>"What your application would carry"</h2>
        <Suspense fallback=|| view! { <p>"Checking your Intent to File…"</p> }>
            {move || carried.get().map(|found| match found {
                Ok(itf) => view! { <Carried itf/> }.into_any(),
                Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
            })}
        </Suspense>
        <p><a href="/">"Go back to the start page"</a></p>
    }
}

#[component]
fn Carried(itf: SubmissionItf) -> impl IntoView {
    let state = itf.state();
    let words = match itf {
        SubmissionItf::Active {
            itf_id,
            creation_date,
            expiration_date,
        } => format!(
            "Intent to File {itf_id}, started on {creation_date} and expiring on \
             {expiration_date}. Its start date is the earliest date your benefits could be paid from."
        ),
        SubmissionItf::Pending { received_date } => format!(
            "An Intent to File pending since {received_date}: requested on that day, \
             not yet confirmed."
        ),
        SubmissionItf::NeedsAttention { received_date } => format!(
            "Your Intent to File request of {received_date}, which we couldn't complete \
             automatically. Your application can still go ahead."
        ),
        SubmissionItf::None => "No Intent to File is on record for you yet.".to_owned(),
    };
    view! { <p data-testid="submission-itf" data-submission-itf=state>{words}</p> }
}
