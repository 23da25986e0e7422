//! The API of the status-code document, as an axum Router wrapped in `ApiErrorLayer`, its routes
//! and their method policy declared once (`tower_api_errors::routing`).
//!
//! Kept apart from `main.rs` so that `tests/demo.rs` serves exactly this app.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, Method, StatusCode};
use axum::middleware::from_fn;
use axum::response::IntoResponse;
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::Semaphore;
use tower_api_errors::classify::DefaultClassifier;
use tower_api_errors::openapi::{ErrorResponses, Problem};
use tower_api_errors::overload::{
    AdaptiveConcurrency, Drain, InFlight, Limit, Maintenance, SlowClientLayer,
};
use tower_api_errors::routing::{get, post, put, ApiRouter};
use tower_api_errors::shape::{Aip193, JsonApi};
use tower_api_errors::{ApiError, ApiErrorLayer, ApiErrorService, FieldError};
use tower_http::limit::RequestBodyLimitLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

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

/// The largest request body the demo reads.
pub const MAX_BODY: usize = 16 * 1024;

/// The inbound deadline header the demo honours.
pub const DEADLINE_HEADER: &str = "x-request-timeout-ms";

/// The token that `/private` and `/admin/maintenance` accept.
pub const TOKEN: &str = "demo-token";

/// The first id `POST /notes` gives, as in the document's example.
const FIRST_NOTE_ID: u64 = 11027;

/// The most notes the in-memory store keeps: beyond it, a new note pushes out the oldest (whose
/// `GET` is then 404), so that a long run or a conformance tool posting notes cannot grow the
/// process without bound.
pub const MAX_NOTES: usize = 1000;

#[derive(Clone)]
struct AppState {
    /// By id, which grows: the first entry is the oldest note.
    notes: Arc<Mutex<BTreeMap<u64, Value>>>,
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
    // Before the layer is built: its gauges are registered with the recorder of that moment.
    let prometheus = prometheus();
    let maintenance = maintenance(settings);
    let drain = Drain::with_retry_after(settings.retry_after);
    let layer = layer(settings, &maintenance).drain(drain.clone());
    let routes = routes(&maintenance, Database::new(settings));
    // The document says what the layer answers, so it is made from the layer with the policy.
    let policy = routes.policy().expect("the demo's route table is valid");
    let document = serde_json::to_vec(&openapi(&layer.clone().method_policy(policy)))
        .expect("the document serializes");
    let document = axum::body::Bytes::from(document);
    let routes = routes
        .route("/openapi.json", get(move || openapi_json(document.clone())))
        .route("/metrics", get(move || metrics(prometheus.clone())));
    let service = routes
        .into_service(layer)
        .expect("the demo's route table is valid");
    // The service's own count (the layer makes one per service), for the drain's progress.
    let in_flight = service.in_flight().expect("a limit is configured").clone();
    Demo {
        service,
        maintenance,
        in_flight,
        drain,
    }
}

/// The demo's OpenAPI document: the operations from the handlers' `#[utoipa::path]`, and what
/// the layer answers (500, 501 for planned methods, 503, 504, 401 where a token is needed) from
/// `ErrorResponses`. Served as `GET /openapi.json`.
pub fn openapi(layer: &ApiErrorLayer) -> utoipa::openapi::OpenApi {
    let mut document = DemoApi::openapi();
    ErrorResponses::from_layer(layer).modify(&mut document);
    document
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tower-api-errors demo",
        version = "0.1.0",
        description = "The API of the status-code document (`cargo run --example demo`). Every failure leaves the server as one JSON body (schema/error.schema.json), or in the shape `Accept` asks for: `application/problem+json` (RFC 9457), `application/vnd.google.rpc.status+json` (AIP-193) or `application/vnd.api+json` (JSON:API). A recognized method a resource does not take is 405 with `Allow`; a method planned for it is 501 with `Allow` and `Cache-Control: no-store`; a method the server does not recognize (`BREW`, `get`) is 501 on every path.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    paths(
        health, create_note, read_note, report_result, list_payments, slow, panics, private,
        maintenance_on, maintenance_off, openapi_json, metrics,
    ),
    modifiers(&BearerScheme, &NoteLink),
    // Nothing needed but where an operation says so (`/private`, `/admin/maintenance`).
    security(()),
    servers((url = "/", description = "The server that serves this document.")),
    tags(
        (name = "notes", description = "Notes about customers (POST, then GET by id)."),
        (name = "payments", description = "Payments; POST is planned (501)."),
        (name = "reports", description = "Reports read from the simulated database (GET only: POST is 405)."),
        (name = "admin", description = "The maintenance switch."),
        (name = "demo", description = "Routes that show the layer's answers: 500, 504, 401/403."),
        (name = "operations", description = "Health, metrics and this document."),
    ),
)]
struct DemoApi;

/// The link from a created note to `GET /notes/{id}`, so that a stateful client (schemathesis)
/// reads the notes it creates. Written as a response extension because utoipa 5.5 serializes
/// its `Link` with snake_case keys (`operation_id`), which OpenAPI does not know.
struct NoteLink;

impl Modify for NoteLink {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let created = openapi
            .paths
            .paths
            .get_mut("/notes")
            .and_then(|item| item.post.as_mut())
            .and_then(|post| post.responses.responses.get_mut("201"));
        if let Some(utoipa::openapi::RefOr::T(created)) = created {
            let link = json!({"GetNote": {
                "operationId": "read_note",
                "parameters": {"id": "$response.body#/id"},
            }});
            created.extensions = Some([("links", link)].into_iter().collect());
        }
    }
}

/// The `bearer` security scheme that `/private` and `/admin/maintenance` name.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("The demo's token is `demo-token`."))
            .build();
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// `{"ok": true}`.
#[derive(Serialize, ToSchema)]
struct Health {
    ok: bool,
}

#[derive(Serialize, ToSchema)]
struct Created {
    ok: bool,
    #[schema(minimum = 11027)]
    id: u64,
}

#[derive(Serialize, ToSchema)]
struct Note {
    id: u64,
    customer_id: i64,
    body: String,
}

#[derive(Serialize, ToSchema)]
struct NoteRead {
    ok: bool,
    note: Note,
}

#[derive(Serialize, ToSchema)]
struct ReportResult {
    ok: bool,
    report: String,
    result: String,
}

#[derive(Serialize, ToSchema)]
struct Payments {
    ok: bool,
    payments: Vec<Value>,
}

#[derive(Serialize, ToSchema)]
struct Slept {
    ok: bool,
    slept_ms: u64,
}

#[derive(Serialize, ToSchema)]
struct Secret {
    ok: bool,
    secret: String,
}

#[derive(Serialize, ToSchema)]
struct MaintenanceState {
    ok: bool,
    maintenance: bool,
}

/// The process's Prometheus recorder, installed globally the first time (a test that builds the
/// demo twice gets the same one: a second global recorder can't be installed).
pub fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .install_recorder()
                .expect("no other global metrics recorder")
        })
        .clone()
}

/// The layer's metrics (`api_errors_total`, `api_shed_total`, `api_in_flight`,
/// `api_concurrency_limit`) in Prometheus text. They exist only with the crate's `metrics`
/// feature; without it the answer is an error that says how to turn it on, not an empty 200.
#[utoipa::path(
    get,
    path = "/metrics", tag = "operations", summary = "The layer's metrics",
    responses(
        (status = 200, description = "The layer's metrics, in Prometheus text (the demo built with `--features metrics`).", content_type = "text/plain", body = String),
        (status = 501, description = "Not Implemented: the demo was built without the crate's `metrics` feature (`metrics_disabled`).", content((ApiError = "application/json"), (Problem = "application/problem+json"))),
    )
)]
async fn metrics(prometheus: PrometheusHandle) -> Result<impl IntoResponse, ApiError> {
    if !cfg!(feature = "metrics") {
        return Err(ApiError::new(StatusCode::NOT_IMPLEMENTED)
            .with_code("metrics_disabled")
            .with_detail(
                "This demo was built without the crate's `metrics` feature, so the layer counts \
                 nothing: run `cargo run --example demo --features metrics`.",
            ));
    }
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        prometheus.render(),
    ))
}

#[utoipa::path(get, path = "/openapi.json", tag = "operations", summary = "This OpenAPI document", responses((status = 200, description = "This document.", body = Value)))]
async fn openapi_json(document: axum::body::Bytes) -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        document,
    )
}

#[utoipa::path(get, path = "/health", tag = "operations", summary = "Liveness", responses((status = 200, description = "Alive; never in maintenance.", body = Health)))]
async fn health() -> Json<Health> {
    Json(Health { ok: true })
}

#[utoipa::path(get, path = "/payments", tag = "payments", summary = "List the payments", responses((status = 200, description = "The payments.", body = Payments)))]
async fn list_payments() -> Json<Payments> {
    Json(Payments {
        ok: true,
        payments: Vec::new(),
    })
}

/// The maintenance switch: `/health` and the admin routes keep working while it is on.
pub fn maintenance(settings: &Settings) -> Maintenance {
    Maintenance::builder()
        .retry_after(settings.retry_after)
        .bypass("/health")
        .bypass("/admin/*")
        .build()
}

/// The `ErrorInfo.domain` of the demo's AIP-193 errors.
pub const AIP193_DOMAIN: &str = "demo.tower-api-errors.example";

/// The layer, configured from the flags; the method policy comes from [`routes`]. Errors are
/// the document's JSON unless `Accept` asks for another shape: `application/problem+json`
/// (RFC 9457), `application/vnd.google.rpc.status+json` (AIP-193, `google.rpc.Status`) or
/// `application/vnd.api+json` (JSON:API error objects).
pub fn layer(settings: &Settings, maintenance: &Maintenance) -> ApiErrorLayer {
    let limit = match settings.max_in_flight {
        MaxInFlight::Fixed(max) => Limit::fixed(max),
        MaxInFlight::Auto => Limit::adaptive(AdaptiveConcurrency::default()),
    };
    ApiErrorLayer::new()
        .limit(limit.retry_after(settings.retry_after))
        .timeout(settings.timeout)
        // With `SlowClientLayer` in `routes`: a stalled upload is 408, not 504.
        .watch_request_body()
        .deadline_header(HeaderName::from_static(DEADLINE_HEADER))
        .maintenance(maintenance.clone())
        .offer_shape(Aip193::new(AIP193_DOMAIN))
        .offer_shape(JsonApi)
}

/// The routes of the API document, declared once: each path's handlers and the methods planned
/// for it (501 until they come). Every other recognized method is 405. `into_parts` gives the
/// axum Router and the layer's `MethodPolicy`, which can't disagree. `/health` and the admin
/// routes are never refused by the in-flight limit, and reports (read from `db`) get 10 s
/// instead of the layer's timeout.
pub fn routes(maintenance: &Maintenance, db: Database) -> ApiRouter {
    let state = AppState {
        notes: Arc::default(),
        next_id: Arc::new(AtomicU64::new(FIRST_NOTE_ID)),
        maintenance: maintenance.clone(),
        db,
    };
    let admin = ApiRouter::new().route(
        "/maintenance",
        put(maintenance_on)
            .delete(maintenance_off)
            .route_layer(from_fn(authenticated))
            .critical(),
    );
    ApiRouter::new()
        .route("/health", get(health).critical())
        .route("/notes", post(create_note).plan(Method::GET))
        .route(
            "/notes/{id}",
            get(read_note).plan([Method::PUT, Method::DELETE]),
        )
        .route(
            "/reports/{id}/result",
            get(report_result).timeout(Duration::from_secs(10)),
        )
        .route("/payments", get(list_payments).plan(Method::POST))
        .route("/slow", get(slow))
        .route("/panic", get(panics))
        .route("/private", get(private).route_layer(from_fn(authenticated)))
        .nest("/admin", admin)
        // Inside the layer, so that its 413 (at once, from a declared Content-Length) is
        // rendered like every other error.
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        // Tells the layer when a handler waits for the request body: a client that stalls
        // mid-upload gets 408 at the deadline (it was slow), not 504 (blaming the server).
        .layer(SlowClientLayer::new())
        .with_state(state)
}

/// The body of `POST /notes`. `tower_api_errors::extract::Json` answers a body that does not
/// deserialize with a 400 whose `errors` points at the member: a missing `customer_id` is
/// `missing_parameter` with `param`, a string instead of a number `invalid_body`.
#[derive(Deserialize, ToSchema)]
struct NewNote {
    /// Any JSON number, so that `352.0` (an integer to JSON Schema) is accepted; the handler
    /// checks that it is a whole number.
    #[schema(value_type = i64, minimum = -9223372036854775808_i64, maximum = 9223372036854775807_i64)]
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

#[utoipa::path(
    post,
    path = "/notes", tag = "notes", summary = "Create a note",
    request_body = NewNote,
    responses(
        (status = 201, description = "Created (the document's 201 example).", body = Created),
        (status = 400, description = "Bad Request: a member missing (`missing_parameter`, `param`), of the wrong type (`invalid_body`), or not JSON; `errors` points at it.", content((ApiError = "application/json"), (Problem = "application/problem+json"))),
        (status = 413, description = "Payload Too Large.", content((ApiError = "application/json"), (Problem = "application/problem+json"))),
        (status = 415, description = "Unsupported Media Type: not `application/json`.", content((ApiError = "application/json"), (Problem = "application/problem+json"))),
        (status = 422, description = "Unprocessable Entity: a `customer_id` that is not a whole number; `errors` lists it.", content((ApiError = "application/json"), (Problem = "application/problem+json"))),
    )
)]
async fn create_note(
    State(state): State<AppState>,
    tower_api_errors::extract::Json(note): tower_api_errors::extract::Json<NewNote>,
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
    let mut notes = state.notes.lock().expect("notes lock");
    notes.insert(id, stored);
    if notes.len() > MAX_NOTES {
        notes.pop_first();
    }
    drop(notes);
    Ok((StatusCode::CREATED, Json(Created { ok: true, id })))
}

#[utoipa::path(
    get,
    path = "/notes/{id}", tag = "notes", summary = "Read a note",
    params(("id" = u64, Path, minimum = 0, maximum = 9223372036854775807_i64, description = "The note's id.")),
    responses(
        (status = 200, description = "The note.", body = NoteRead),
        (status = 400, description = "Bad Request: an id that is not a number.", content((ApiError = "application/json"), (Problem = "application/problem+json"))),
        (status = 404, description = "Not Found: no such note.", content((ApiError = "application/json"), (Problem = "application/problem+json"))),
    )
)]
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

#[utoipa::path(
    get,
    path = "/reports/{id}/result", tag = "reports", summary = "A report's result",
    params(("id" = String, Path, description = "The report.")),
    responses(
        (status = 200, description = "The result; the resource takes GET only, ever (POST is the document's 405 example).", body = ReportResult),
        (status = 404, description = "Not Found: an id sent as `/` or `..` lands on another path.", content((ApiError = "application/json"), (Problem = "application/problem+json"))),
    )
)]
async fn report_result(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Json<ReportResult> {
    state.db.query().await;
    Json(ReportResult {
        ok: true,
        report: id,
        result: "complete".to_owned(),
    })
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SlowParams {
    /// Milliseconds to sleep (default 100). Bounded in the document so that a conformance run
    /// never waits long; the server takes any u64 and answers 504 at its deadline.
    #[param(minimum = 0, maximum = 3000)]
    ms: Option<u64>,
}

#[utoipa::path(
    get,
    path = "/slow", tag = "demo", summary = "Sleep, for deadlines",
    params(SlowParams),
    responses(
        (status = 200, description = "Slept; past the deadline (--timeout-ms) it is 504.", body = Slept),
        (status = 400, description = "Bad Request: `ms` is not a number.", content((ApiError = "application/json"), (Problem = "application/problem+json"))),
    )
)]
async fn slow(Query(params): Query<SlowParams>) -> Json<Slept> {
    let ms = params.ms.unwrap_or(100);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Json(Slept {
        ok: true,
        slept_ms: ms,
    })
}

/// Panics on purpose; the body of its 500 says nothing of the panic.
#[utoipa::path(
    get,
    path = "/panic",
    tag = "demo",
    summary = "Panic, for the 500",
    responses()
)]
async fn panics() -> &'static str {
    panic!("the demo panics on purpose: secret-internal-state")
}

/// 401 without credentials, 403 with the wrong ones.
/// The admin routes' and `/private`'s guard, as a `route_layer` on their method routers: it
/// runs only where a handler would, so their 405s, planned 501s and `OPTIONS` (`204` with
/// `Allow`) stay what they are for a client without the token.
async fn authenticated(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Result<axum::response::Response, ApiError> {
    authorize(req.headers())?;
    Ok(next.run(req).await)
}

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

#[utoipa::path(
    get,
    path = "/private", tag = "demo", summary = "A secret behind a token",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The secret.", body = Secret),
        (status = 403, description = "Forbidden: the wrong token.", content((ApiError = "application/json"), (Problem = "application/problem+json"))),
    )
)]
async fn private() -> Json<Secret> {
    Json(Secret {
        ok: true,
        secret: "42".to_owned(),
    })
}

/// `PUT /admin/maintenance` switches maintenance on (every path but /health and /admin/*
/// answers 503).
#[utoipa::path(
    put,
    path = "/admin/maintenance", tag = "admin", summary = "Switch maintenance on",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Maintenance is on.", body = MaintenanceState),
        (status = 403, description = "Forbidden: the wrong token.", content((ApiError = "application/json"), (Problem = "application/problem+json"))),
    )
)]
async fn maintenance_on(State(state): State<AppState>) -> Json<MaintenanceState> {
    switch_maintenance(&state, true)
}

/// `DELETE /admin/maintenance` switches maintenance off.
#[utoipa::path(
    delete,
    path = "/admin/maintenance", tag = "admin", summary = "Switch maintenance off",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Maintenance is off.", body = MaintenanceState),
        (status = 403, description = "Forbidden: the wrong token.", content((ApiError = "application/json"), (Problem = "application/problem+json"))),
    )
)]
async fn maintenance_off(State(state): State<AppState>) -> Json<MaintenanceState> {
    switch_maintenance(&state, false)
}

fn switch_maintenance(state: &AppState, on: bool) -> Json<MaintenanceState> {
    if on {
        state.maintenance.enable();
    } else {
        state.maintenance.disable();
    }
    Json(MaintenanceState {
        ok: true,
        maintenance: on,
    })
}
