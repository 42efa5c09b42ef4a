//! Operations surface: `/healthz`, `/metrics`, and the OpenAPI document covering API.md's paths.

use replyline_e2e::{Env, StatusCode};
use serde_json::json;

#[tokio::test]
async fn health_metrics_and_openapi() {
    let env = Env::start(&json!({})).await;
    let api = env.server.api();
    let (status, health) = api.healthz().await;
    assert_eq!(status, StatusCode::OK, "{health}");
    assert_eq!(health["status"], "ok");

    let (status, metrics) = api.get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let text = metrics.as_str().unwrap_or_default();
    assert!(
        text.contains("# TYPE") || text.contains("# HELP"),
        "not Prometheus text: {text:.200}"
    );

    let (status, doc) = api.get("/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    let paths = doc["paths"].as_object().expect("OpenAPI `paths`");
    let missing: Vec<&str> = [
        "/api/v1/auth/login",
        "/api/v1/me",
        "/api/v1/employees",
        "/api/v1/employees/{id}",
        "/api/v1/channels",
        "/api/v1/channels/{id}",
        "/api/v1/channels/{id}/settings",
        "/api/v1/conversations",
        "/api/v1/conversations/{id}",
        "/api/v1/conversations/{id}/messages",
        "/api/v1/conversations/{id}/notes",
        "/api/v1/conversations/{id}/assign",
        "/api/v1/conversations/{id}/close",
        "/api/v1/conversations/{id}/events",
        "/api/v1/notifications",
        "/api/v1/notifications/{id}/read",
        "/api/v1/clock/advance",
    ]
    .into_iter()
    .filter(|p| {
        // Parameter names may differ ({id} vs {conversation_id}): compare the shapes.
        let shape = |s: &str| {
            s.split('/')
                .map(|seg| if seg.starts_with('{') { "{}" } else { seg })
                .collect::<Vec<_>>()
                .join("/")
        };
        !paths.keys().any(|k| shape(k) == shape(p))
    })
    .collect();
    assert!(
        missing.is_empty(),
        "OpenAPI document lacks API.md paths: {missing:?}"
    );
}
