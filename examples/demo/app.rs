//! The API of the status-code document, as an axum Router wrapped in `ApiErrorLayer`, its routes
//! and their method policy declared once (`tower_api_errors::routing`).
//!
//! Kept apart from `main.rs` so that `tests/demo.rs` serves exactly this app.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::IntoResponse;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tower_api_errors::routing::{get, post, put, ApiRouter};
use tower_api_errors::{
    ApiError, ApiErrorLayer, ApiErrorService, DefaultClassifier, FieldError, InFlight, Maintenance,
};

/// The demo's settings (the command-line flags).
#[derive(Debug, Clone)]
pub struct Settings {
    pub timeout: Duration,
    pub max_in_flight: usize,
    pub retry_after: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_millis(2000),
            max_in_flight: 64,
            retry_after: Duration::from_secs(1),
        }
    }
}

/// The served app, and the handles to watch and steer it.
pub struct Demo {
    pub service: ApiErrorService<Router, DefaultClassifier>,
    pub maintenance: Maintenance,
    pub in_flight: InFlight,
}

/// The token that `/private` and `/admin/maintenance` accept.
pub const TOKEN: &str = "demo-token";

/// The first id `POST /notes` gives, as in the document's example.
const FIRST_NOTE_ID: u64 = 11027;

#[derive(Clone)]
struct AppState {
    notes: Arc<Mutex<HashMap<u64, Value>>>,
    next_id: Arc<AtomicU64>,
    maintenance: Maintenance,
}

pub fn demo(settings: &Settings) -> Demo {
    let maintenance = maintenance(settings);
    let layer = layer(settings, &maintenance);
    let in_flight = layer.in_flight().expect("a limit is configured");
    Demo {
        service: routes(&maintenance)
            .into_service(layer)
            .expect("the demo's route table is valid"),
        maintenance,
        in_flight,
    }
}

/// The maintenance switch: `/health` and the admin routes keep working while it is on.
pub fn maintenance(settings: &Settings) -> Maintenance {
    Maintenance::new()
        .retry_after(settings.retry_after)
        .bypass("/health")
        .bypass("/admin/*")
}

/// The layer, configured from the flags; the method policy comes from [`routes`].
pub fn layer(settings: &Settings, maintenance: &Maintenance) -> ApiErrorLayer {
    ApiErrorLayer::new()
        .timeout(settings.timeout)
        .max_in_flight(settings.max_in_flight)
        .retry_after(settings.retry_after)
        .maintenance(maintenance.clone())
}

/// The routes of the API document, declared once: each path's handlers and the methods planned
/// for it (501 until they come). Every other recognized method is 405. `into_parts` gives the
/// axum Router and the layer's `MethodPolicy`, which can't disagree.
pub fn routes(maintenance: &Maintenance) -> ApiRouter {
    let state = AppState {
        notes: Arc::default(),
        next_id: Arc::new(AtomicU64::new(FIRST_NOTE_ID)),
        maintenance: maintenance.clone(),
    };
    let admin = ApiRouter::new().route(
        "/maintenance",
        put(switch_maintenance).delete(switch_maintenance),
    );
    ApiRouter::new()
        .route("/health", get(|| async { Json(json!({"ok": true})) }))
        .route("/notes", post(create_note).plan(Method::GET))
        .route(
            "/notes/{id}",
            get(read_note).plan([Method::PUT, Method::DELETE]),
        )
        .route("/reports/{id}/result", get(report_result))
        .route(
            "/payments",
            get(|| async { Json(json!({"ok": true, "payments": []})) }).plan(Method::POST),
        )
        .route("/slow", get(slow))
        .route("/panic", get(panics))
        .route("/private", get(private))
        .nest("/admin", admin)
        .with_state(state)
}

/// The body of `POST /notes`. `tower_api_errors::Json` answers a body that does not
/// deserialize with a 400 whose `errors` points at the member: a missing `customer_id` is
/// `missing_parameter` with `param`, a string instead of a number `invalid_body`.
#[derive(Deserialize)]
struct NewNote {
    /// Any JSON number, so that `352.0` (an integer to JSON Schema) is accepted; the handler
    /// checks that it is a whole number.
    customer_id: serde_json::Number,
    body: String,
}

/// `customer_id` as an `i64`, if it is a whole number in range. A number written with a
/// fraction or an exponent is taken below 2^53 only, where an `f64` holds every integer exactly
/// (serde_json also reads an integer beyond the `u64`/`i64` ranges as an `f64`).
fn whole(number: &serde_json::Number) -> Option<i64> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    number.as_i64().or_else(|| {
        let f = number.as_f64()?;
        #[allow(clippy::cast_possible_truncation)]
        (f.fract() == 0.0 && f.abs() < EXACT).then_some(f as i64)
    })
}

async fn create_note(
    State(state): State<AppState>,
    tower_api_errors::Json(note): tower_api_errors::Json<NewNote>,
) -> Result<impl IntoResponse, ApiError> {
    // Well-formed and well-typed, but not a value the API takes: 422 with the field list.
    let customer_id = whole(&note.customer_id).ok_or_else(|| {
        ApiError::invalid_params([FieldError::new(
            ["customer_id"],
            "must be a whole number between -2^63 and 2^63 - 1 (with a fraction or exponent: below 2^53)",
        )])
    })?;
    let id = state.next_id.fetch_add(1, Ordering::Relaxed);
    let stored = json!({"id": id, "customer_id": customer_id, "body": note.body});
    state.notes.lock().expect("notes lock").insert(id, stored);
    Ok((StatusCode::CREATED, Json(json!({"ok": true, "id": id}))))
}

async fn read_note(
    State(state): State<AppState>,
    Path(id): Path<u64>,
) -> Result<Json<Value>, ApiError> {
    let notes = state.notes.lock().expect("notes lock");
    let note = notes
        .get(&id)
        .ok_or_else(|| ApiError::not_found().with_detail(format!("There is no note {id}.")))?;
    Ok(Json(json!({"ok": true, "note": note})))
}

async fn report_result(Path(id): Path<String>) -> Json<Value> {
    Json(json!({"ok": true, "report": id, "result": "complete"}))
}

#[derive(Deserialize)]
struct SlowParams {
    ms: Option<u64>,
}

async fn slow(Query(params): Query<SlowParams>) -> Json<Value> {
    let ms = params.ms.unwrap_or(100);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Json(json!({"ok": true, "slept_ms": ms}))
}

async fn panics() -> &'static str {
    panic!("the demo panics on purpose: secret-internal-state")
}

/// 401 without credentials, 403 with the wrong ones.
fn authorize(headers: &HeaderMap) -> Result<(), ApiError> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::unauthorized("Bearer"))?;
    if token == TOKEN {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}

async fn private(headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    authorize(&headers)?;
    Ok(Json(json!({"ok": true, "secret": "42"})))
}

/// `PUT /admin/maintenance` switches maintenance on, `DELETE` switches it off.
async fn switch_maintenance(
    method: Method,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    authorize(&headers)?;
    let on = method == Method::PUT;
    if on {
        state.maintenance.enable();
    } else {
        state.maintenance.disable();
    }
    Ok(Json(json!({"ok": true, "maintenance": on})))
}
