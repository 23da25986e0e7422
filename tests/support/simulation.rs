//! A deterministic load simulation on tokio's paused clock: simulated resources behind the real
//! layer, seeded open-loop arrivals and closed-loop clients, and what each request saw. Time is
//! the paused clock's, so a run is exact, independent of this machine's speed, and the same on
//! every run.
#![allow(dead_code)] // each scenario uses its own part of this module

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tower::{Layer, ServiceExt};
use tower_api_errors::overload::Criticality;
use tower_api_errors::policy::{MethodPolicy, Resource};
use tower_api_errors::ApiErrorLayer;

/// What a simulated resource does for one request.
#[derive(Clone)]
pub enum Work {
    /// Takes one of `pool` connections (a database), holds it for the service time, queueing
    /// for one when all are taken.
    Pool {
        pool: Arc<Semaphore>,
        service: Arc<AtomicU64>,
    },
    /// Sleeps for the service time: no bottleneck.
    Sleep { service: Arc<AtomicU64> },
    /// Answers at once.
    Instant,
}

impl Work {
    pub fn pool(connections: usize, service: Duration) -> Self {
        Work::Pool {
            pool: Arc::new(Semaphore::new(connections)),
            service: Arc::new(AtomicU64::new(micros(service))),
        }
    }

    pub fn sleep(service: Duration) -> Self {
        Work::Sleep {
            service: Arc::new(AtomicU64::new(micros(service))),
        }
    }

    /// A handle that changes the service time while the simulation runs.
    pub fn service_time(&self) -> Arc<AtomicU64> {
        match self {
            Work::Pool { service, .. } | Work::Sleep { service } => service.clone(),
            Work::Instant => Arc::new(AtomicU64::new(0)),
        }
    }

    async fn serve(&self) {
        match self {
            Work::Pool { pool, service } => {
                let _connection = pool.acquire().await.unwrap();
                tokio::time::sleep(Duration::from_micros(service.load(Ordering::Relaxed))).await;
            }
            Work::Sleep { service } => {
                tokio::time::sleep(Duration::from_micros(service.load(Ordering::Relaxed))).await;
            }
            Work::Instant => {}
        }
    }
}

fn micros(d: Duration) -> u64 {
    d.as_micros() as u64
}

/// A resource of the simulated API: its route pattern (and the path requests use), its work
/// and its criticality in the route table.
pub struct SimResource {
    pub pattern: &'static str,
    pub work: Work,
    pub criticality: Option<Criticality>,
}

impl SimResource {
    pub fn new(pattern: &'static str, work: Work) -> Self {
        Self {
            pattern,
            work,
            criticality: None,
        }
    }

    pub fn critical(mut self) -> Self {
        self.criticality = Some(Criticality::Critical);
        self
    }

    pub fn sheddable(mut self) -> Self {
        self.criticality = Some(Criticality::Sheddable);
        self
    }
}

/// The service under test: the layer over the simulated resources, any other path `404`.
pub type App = tower::util::BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>;

/// The app: `layer` (given the route table of `resources`) over an inner service that routes
/// by path. `table`: whether the layer gets the route table (without it, the adaptive limit is
/// one partition).
pub fn app(layer: ApiErrorLayer, resources: Vec<SimResource>, table: bool) -> App {
    let mut policy = MethodPolicy::builder();
    for resource in &resources {
        let mut declared = Resource::allow([Method::GET]);
        match resource.criticality {
            Some(Criticality::Critical) => declared = declared.critical(),
            Some(Criticality::Sheddable) => declared = declared.sheddable(),
            _ => {}
        }
        policy = policy.resource(resource.pattern, declared);
    }
    let layer = if table {
        layer.method_policy(policy.build().unwrap())
    } else {
        layer
    };
    let works: Arc<BTreeMap<&'static str, Work>> =
        Arc::new(resources.into_iter().map(|r| (r.pattern, r.work)).collect());
    let inner = tower::service_fn(move |req: Request<Body>| {
        let works = works.clone();
        async move {
            let Some(work) = works.get(req.uri().path()).cloned() else {
                let mut missing = Response::new(Body::empty());
                *missing.status_mut() = StatusCode::NOT_FOUND;
                return Ok::<_, Infallible>(missing);
            };
            work.serve().await;
            Ok(Response::new(Body::from("ok")))
        }
    });
    let service = layer.layer(inner).map_response(|r| r.map(Body::new));
    tower::util::BoxCloneSyncService::new(service)
}

/// What one request saw.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub path: &'static str,
    /// The client's kind (see [`Recorder::record`]).
    pub client: &'static str,
    pub scheduled: Instant,
    pub done: Instant,
    pub status: StatusCode,
    pub retry_after: Option<u64>,
    pub retryable: Option<bool>,
}

impl Outcome {
    pub fn latency(&self) -> Duration {
        self.done - self.scheduled
    }
}

/// Every outcome of a run.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<Outcome>>>);

impl Recorder {
    pub fn outcomes(&self) -> Vec<Outcome> {
        self.0.lock().unwrap().clone()
    }
}

/// Sends one request to `path` and records what came back; returns it.
pub async fn send(
    app: &App,
    path: &'static str,
    client: &'static str,
    scheduled: Instant,
    recorder: &Recorder,
    criticality: Option<Criticality>,
) -> Outcome {
    let mut req = Request::get(path).body(Body::empty()).unwrap();
    if let Some(criticality) = criticality {
        req.extensions_mut().insert(criticality);
    }
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let retryable = (status.as_u16() >= 400)
        .then(|| serde_json::from_slice::<serde_json::Value>(&body).ok())
        .flatten()
        .and_then(|b| b["retryable"].as_bool());
    let outcome = Outcome {
        path,
        client,
        scheduled,
        done: Instant::now(),
        status,
        retry_after,
        retryable,
    };
    recorder.0.lock().unwrap().push(outcome.clone());
    outcome
}

/// A seeded generator (SplitMix64): the same arrivals on every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `(0, 1]`.
    pub fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1_u64 << 53) as f64
    }

    /// An exponential inter-arrival time for `rate` per second.
    pub fn exp(&mut self, rate: f64) -> Duration {
        Duration::from_secs_f64(-self.unit().ln() / rate)
    }
}

/// One phase of an open-loop load: `rate` requests per second for `length`.
#[derive(Debug, Clone, Copy)]
pub struct Phase {
    pub rate: f64,
    pub length: Duration,
}

/// Who sends: a name for the reports, and the criticality its requests carry (as an outer
/// layer would set it, after authentication).
#[derive(Debug, Clone, Copy)]
pub struct Client {
    pub name: &'static str,
    pub criticality: Option<Criticality>,
}

impl Client {
    pub const fn named(name: &'static str) -> Self {
        Self {
            name,
            criticality: None,
        }
    }
}

/// Open-loop arrivals (Poisson, seeded) to `path` through `phases`, from now: each request is
/// sent at its scheduled time whatever happened to the others, and latency counts from then.
/// Returns when the last request is answered.
pub fn open_loop(
    app: &App,
    path: &'static str,
    client: Client,
    phases: Vec<Phase>,
    seed: u64,
    recorder: &Recorder,
) -> tokio::task::JoinHandle<()> {
    let (app, recorder) = (app.clone(), recorder.clone());
    tokio::spawn(async move {
        let mut rng = Rng::new(seed);
        let mut sent = Vec::new();
        let mut start = Instant::now();
        for phase in phases {
            let end = start + phase.length;
            if phase.rate <= 0.0 {
                start = end;
                continue;
            }
            let mut next = start + rng.exp(phase.rate);
            while next < end {
                tokio::time::sleep_until(next).await;
                // The clock moves by whole milliseconds: send every arrival that is due.
                let now = Instant::now();
                while next <= now && next < end {
                    let (app, recorder) = (app.clone(), recorder.clone());
                    let scheduled = next;
                    sent.push(tokio::spawn(async move {
                        send(
                            &app,
                            path,
                            client.name,
                            scheduled,
                            &recorder,
                            client.criticality,
                        )
                        .await;
                    }));
                    next += rng.exp(phase.rate);
                }
            }
            start = end;
        }
        for request in sent {
            request.await.unwrap();
        }
    })
}

/// How a closed-loop client behaves after a `503`.
#[derive(Debug, Clone, Copy)]
pub enum OnRefusal {
    /// Tries again after this pause (a tight loop, at the clock's resolution).
    Retry(Duration),
    /// Waits as long as `Retry-After` says.
    Honor,
}

/// `clients` closed-loop clients sending to `path` until `until`: each sends its next request
/// when the last is answered (after `think`), and reacts to a refusal as `on_refusal` says.
#[allow(clippy::too_many_arguments)]
pub fn closed_loop(
    app: &App,
    path: &'static str,
    client: Client,
    clients: usize,
    think: Duration,
    on_refusal: OnRefusal,
    until: Instant,
    recorder: &Recorder,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..clients)
        .map(|_| {
            let (app, recorder) = (app.clone(), recorder.clone());
            tokio::spawn(async move {
                while Instant::now() < until {
                    let now = Instant::now();
                    let outcome =
                        send(&app, path, client.name, now, &recorder, client.criticality).await;
                    let pause = match (outcome.status, on_refusal) {
                        (StatusCode::SERVICE_UNAVAILABLE, OnRefusal::Retry(pause)) => pause,
                        (StatusCode::SERVICE_UNAVAILABLE, OnRefusal::Honor) => {
                            Duration::from_secs(outcome.retry_after.unwrap_or(1))
                        }
                        _ => think,
                    };
                    // Never zero: a loop that does not wait would stop the paused clock.
                    tokio::time::sleep(pause.max(Duration::from_millis(1))).await;
                }
            })
        })
        .collect()
}

/// What a run says of the requests to one path within a time range (by completion time, or
/// scheduled time for `refused_share`).
pub struct View<'a> {
    pub outcomes: Vec<&'a Outcome>,
}

impl<'a> View<'a> {
    pub fn of(outcomes: &'a [Outcome], path: &str, from: Instant, to: Instant) -> Self {
        Self {
            outcomes: outcomes
                .iter()
                .filter(|o| o.path == path && o.scheduled >= from && o.scheduled < to)
                .collect(),
        }
    }

    pub fn client(mut self, client: &str) -> Self {
        self.outcomes.retain(|o| o.client == client);
        self
    }

    pub fn count(&self, status: StatusCode) -> usize {
        self.outcomes.iter().filter(|o| o.status == status).count()
    }

    pub fn total(&self) -> usize {
        self.outcomes.len()
    }

    pub fn ok(&self) -> usize {
        self.count(StatusCode::OK)
    }

    pub fn refused(&self) -> usize {
        self.count(StatusCode::SERVICE_UNAVAILABLE)
    }

    /// The share of requests answered `503`.
    pub fn refused_share(&self) -> f64 {
        self.refused() as f64 / self.total().max(1) as f64
    }

    /// The share answered `200`.
    pub fn ok_share(&self) -> f64 {
        self.ok() as f64 / self.total().max(1) as f64
    }

    /// The `p`-th percentile of the latency of the requests answered `200`.
    pub fn p_ok(&self, p: f64) -> Duration {
        let mut latencies: Vec<Duration> = self
            .outcomes
            .iter()
            .filter(|o| o.status == StatusCode::OK)
            .map(|o| o.latency())
            .collect();
        percentile(&mut latencies, p)
    }

    /// `200`s per second over `length`.
    pub fn goodput(&self, length: Duration) -> f64 {
        self.ok() as f64 / length.as_secs_f64()
    }

    /// The `Retry-After` values of the `503`s, sorted.
    pub fn retry_afters(&self) -> Vec<u64> {
        let mut seen: Vec<u64> = self.outcomes.iter().filter_map(|o| o.retry_after).collect();
        seen.sort_unstable();
        seen
    }

    /// Statuses other than 200 and 503, with their counts.
    pub fn others(&self) -> BTreeMap<u16, usize> {
        let mut others = BTreeMap::new();
        for o in &self.outcomes {
            if o.status != StatusCode::OK && o.status != StatusCode::SERVICE_UNAVAILABLE {
                *others.entry(o.status.as_u16()).or_default() += 1;
            }
        }
        others
    }
}

pub fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort_unstable();
    let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}
