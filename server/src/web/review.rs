//! UX review mode (development only): switch the provider simulator's mode,
//! the delay threshold and a simulated outage of our database from `/review`.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use itf_app::server_fns::ReviewSettings;
use serde::Deserialize;

use super::error::error_response;
use super::AppState;
use crate::simulator::{ModeKind, ModeUpdate};

pub fn settings(state: &AppState) -> ReviewSettings {
    ReviewSettings {
        mode: state
            .simulator
            .as_ref()
            .map_or_else(|| "standalone".to_owned(), |s| s.mode_name()),
        delayed_after_minutes: state.delayed_after.get().as_secs() / 60,
        outage: state
            .outage
            .as_ref()
            .is_some_and(|down| down.load(Ordering::Relaxed)),
    }
}

#[derive(Deserialize)]
pub struct ModeForm {
    mode: ModeKind,
}

pub async fn set_mode(
    State(state): State<AppState>,
    form: Result<Form<ModeForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "Unknown mode",
            "Choose one of the modes on the review page.",
        );
    };
    let Some(simulator) = &state.simulator else {
        return error_response(
            StatusCode::CONFLICT,
            "Simulator not in this app",
            "This app uses a standalone simulator; set its mode with PUT /_sim/lighthouse/mode there.",
        );
    };
    let update = ModeUpdate {
        mode: form.mode,
        failure_rate: None,
        delay_ms: None,
        retry_after_seconds: None,
        quota_per_minute: None,
        token_ttl_seconds: None,
    };
    match simulator.set_mode(update) {
        Ok(()) => Redirect::to("/review").into_response(),
        Err(problem) => error_response(StatusCode::BAD_REQUEST, "Invalid mode", problem),
    }
}

#[derive(Deserialize)]
pub struct DelayForm {
    minutes: u64,
}

pub async fn set_delay(
    State(state): State<AppState>,
    form: Result<Form<DelayForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "Not a number of minutes",
            "Enter a whole number of minutes, 0 or more.",
        );
    };
    state
        .delayed_after
        .set(Duration::from_secs(form.minutes * 60));
    Redirect::to("/review").into_response()
}

#[derive(Deserialize)]
pub struct OutageForm {
    down: bool,
}

pub async fn set_outage(
    State(state): State<AppState>,
    form: Result<Form<OutageForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let (Ok(Form(form)), Some(outage)) = (form, &state.outage) else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "Outage switch",
            "Send down=true or down=false.",
        );
    };
    outage.store(form.down, Ordering::Relaxed);
    Redirect::to("/review").into_response()
}
