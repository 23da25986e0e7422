//! The API of the status-code document, as an axum Router wrapped in `ApiErrorLayer`.
//!
//! Kept apart from `main.rs` so that `tests/demo.rs` serves exactly this app.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Semaphore;
use tower::Layer;
use tower_api_errors::{
    AdaptiveConcurrency, ApiError, ApiErrorLayer, ApiErrorService, DefaultClassifier, Drain,
    InFlight, Maintenance, MethodPolicy, Resource,
};

/// The demo's settings (the command-line flags).
#[derive(Debug, Clone)]
pub struct Settings {
    pub timeout: Duration,
    pub max_in_flight: MaxInFlight,
    pub retry_after: Duration,
    /// Connections of the simulated database behind `/reports/{id}/result`.
    pub db_pool: usize,
    /// How long one query holds a connection.
    pub db_time: Duration,
}

/// `--max-in-flight N|auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxInFlight {
    Fixed(usize),
    /// The adaptive limit.
    Auto,
}

impl std::str::FromStr for MaxInFlight {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "auto" {
            Ok(Self::Auto)
        } else {
            s.parse().map(Self::Fixed)
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_millis(2000),
            max_in_flight: MaxInFlight::Fixed(64),
            retry_after: Duration::from_secs(1),
            db_pool: 8,
            db_time: Duration::from_millis(5),
        }
    }
}

/// The served app, and the handles to watch and steer it.
pub struct Demo {
    pub service: ApiErrorService<Router, DefaultClassifier>,
    pub maintenance: Maintenance,
    pub in_flight: InFlight,
    pub drain: Drain,
}

/// The inbound deadline header the demo honours.
pub const DEADLINE_HEADER: &str = "x-request-timeout-ms";

/// The token that `/private` and `/admin/maintenance` accept.
pub const TOKEN: &str = "demo-token";

/// The first id `POST /notes` gives, as in the document's example.
const FIRST_NOTE_ID: u64 = 11027;

#[derive(Clone)]
struct AppState {
    notes: Arc<Mutex<HashMap<u64, Value>>>,
    next_id: Arc<AtomicU64>,
    maintenance: Maintenance,
    db: Database,
}

/// A simulated database: `pool` connections; a query holds one for `query_time`, and waits
/// its turn when none is free. Its capacity is `pool / query_time` queries per second, and
/// requests beyond it queue here, as they do behind a real connection pool.
#[derive(Clone)]
pub struct Database {
    pool: Arc<Semaphore>,
    query_time: Duration,
}

impl Database {
    pub fn new(settings: &Settings) -> Self {
        Self {
            pool: Arc::new(Semaphore::new(settings.db_pool)),
            query_time: settings.db_time,
        }
    }

    async fn query(&self) {
        let _connection = self.pool.acquire().await.expect("the pool is never closed");
        if !self.query_time.is_zero() {
            tokio::time::sleep(self.query_time).await;
        }
    }
}

pub fn demo(settings: &Settings) -> Demo {
    let maintenance = maintenance(settings);
    let drain = Drain::new().retry_after(settings.retry_after);
    let layer = layer(settings, &maintenance).drain(drain.clone());
    let in_flight = layer.in_flight().expect("a limit is configured");
    Demo {
        service: layer.layer(router(&maintenance, Database::new(settings))),
        maintenance,
        in_flight,
        drain,
    }
}

/// The maintenance switch: `/health` and the admin routes keep working while it is on.
pub fn maintenance(settings: &Settings) -> Maintenance {
    Maintenance::new()
        .retry_after(settings.retry_after)
        .bypass("/health")
        .bypass("/admin/*")
}

/// The layer, configured from the flags.
pub fn layer(settings: &Settings, maintenance: &Maintenance) -> ApiErrorLayer {
    let layer = ApiErrorLayer::new();
    let layer = match settings.max_in_flight {
        MaxInFlight::Fixed(max) => layer.max_in_flight(max),
        MaxInFlight::Auto => layer.adaptive_concurrency(AdaptiveConcurrency::default()),
    };
    layer
        .timeout(settings.timeout)
        .deadline_header(DEADLINE_HEADER)
        .retry_after(settings.retry_after)
        .maintenance(maintenance.clone())
        .method_policy(policy())
}

/// The routes of the API document; `/reports/{id}/result` reads from `db`.
pub fn router(maintenance: &Maintenance, db: Database) -> Router {
    let state = AppState {
        notes: Arc::default(),
        next_id: Arc::new(AtomicU64::new(FIRST_NOTE_ID)),
        maintenance: maintenance.clone(),
        db,
    };
    Router::new()
        .route("/health", get(|| async { Json(json!({"ok": true})) }))
        .route("/notes", post(create_note))
        .route("/notes/{id}", get(read_note))
        .route("/reports/{id}/result", get(report_result))
        .route(
            "/payments",
            get(|| async { Json(json!({"ok": true, "payments": []})) }),
        )
        .route("/slow", get(slow))
        .route("/panic", get(panics))
        .route("/private", get(private))
        .route(
            "/admin/maintenance",
            put(switch_maintenance).delete(switch_maintenance),
        )
        .with_state(state)
}

/// Which method each resource takes today, and which are planned (501 until they come);
/// `/health` and the admin routes are never refused by the in-flight limit, and reports get
/// 10 s instead of the layer's timeout.
pub fn policy() -> MethodPolicy {
    let get = || Resource::allow([Method::GET]);
    MethodPolicy::builder()
        .resource("/health", get().critical())
        .resource(
            "/notes",
            Resource::allow([Method::POST]).plan([Method::GET]),
        )
        .resource("/notes/{id}", get().plan([Method::PUT, Method::DELETE]))
        .resource(
            "/reports/{id}/result",
            get().timeout(Duration::from_secs(10)),
        )
        .resource("/payments", get().plan([Method::POST]))
        .resource("/slow", get())
        .resource("/panic", get())
        .resource("/private", get())
        .resource(
            "/admin/maintenance",
            Resource::allow([Method::PUT, Method::DELETE]).critical(),
        )
        .build()
        .expect("the demo's route table is valid")
}

#[derive(Deserialize)]
struct NewNote {
    customer_id: Option<i64>,
    body: Option<String>,
}

async fn create_note(
    State(state): State<AppState>,
    Json(note): Json<NewNote>,
) -> Result<impl IntoResponse, ApiError> {
    let customer_id = note
        .customer_id
        .ok_or_else(|| ApiError::missing_parameter("customer_id"))?;
    let body = note
        .body
        .ok_or_else(|| ApiError::missing_parameter("body"))?;
    let id = state.next_id.fetch_add(1, Ordering::Relaxed);
    let stored = json!({"id": id, "customer_id": customer_id, "body": body});
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

/// Reads the report from the database: one query.
async fn report_result(State(state): State<AppState>, Path(id): Path<String>) -> Json<Value> {
    state.db.query().await;
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
