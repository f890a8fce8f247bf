//! `GET /graphql` with a WebSocket upgrade speaks `graphql-transport-ws`; the token travels in the
//! `connection_init` payload, and a refused or expired one closes the socket (4403, 4401).

use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{Message, client::IntoClientRequest as _, http::HeaderValue},
};

use crate::test_app::TestApp;

pub type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// How long to wait for one message before the test fails (it never sleeps).
pub const MESSAGE_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn connect(app: &TestApp) -> Socket {
    let mut request = format!("ws://{}/graphql", app.address)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (socket, response) = connect_async(request).await.unwrap();
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        "graphql-transport-ws"
    );
    socket
}

pub async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// Opens a connection as the bearer of `token` (anonymous with `None`) and waits for the ack.
pub async fn open(app: &TestApp, token: Option<&str>) -> Socket {
    let mut socket = connect(app).await;
    let payload = match token {
        Some(token) => json!({ "Authorization": format!("Bearer {token}") }),
        None => json!({}),
    };
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
    assert_eq!(receive(&mut socket).await["type"], "connection_ack");
    socket
}

/// The next protocol message, skipping keep-alive pings.
pub async fn receive(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(MESSAGE_TIMEOUT, socket.next())
            .await
            .expect("no message within the timeout")
            .unwrap()
            .unwrap();
        if let Message::Text(text) = message {
            let value: Value = serde_json::from_str(&text).unwrap();
            if value["type"] != "ping" && value["type"] != "pong" {
                return value;
            }
        }
    }
}

#[tokio::test]
async fn a_query_runs_over_graphql_transport_ws() {
    let app = TestApp::spawn_sqlite().await;
    let mut socket = open(&app, None).await;

    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": "{ apiVersion }" } }),
    )
    .await;
    let next = receive(&mut socket).await;
    assert_eq!(next["type"], "next", "{next}");
    assert_eq!(next["id"], "1");
    assert_eq!(
        next["payload"]["data"]["apiVersion"],
        env!("CARGO_PKG_VERSION")
    );
    let complete = receive(&mut socket).await;
    assert_eq!(complete, json!({ "id": "1", "type": "complete" }));
}

#[tokio::test]
async fn errors_over_websocket_carry_catalogue_codes() {
    let app = TestApp::spawn_sqlite().await;
    let mut socket = connect(&app).await;
    send(&mut socket, json!({ "type": "connection_init" })).await;
    assert_eq!(receive(&mut socket).await["type"], "connection_ack");

    send(
        &mut socket,
        json!({ "id": "2", "type": "subscribe", "payload": { "query": "{ apiVersion " } }),
    )
    .await;
    // async-graphql reports a document that does not parse as a result with errors (`next`)
    // rather than an `error` message; either way the error carries its code.
    let message = receive(&mut socket).await;
    let errors = errors_of(&message);
    assert_eq!(
        errors[0]["extensions"]["code"], "GRAPHQL_PARSE_FAILED",
        "{message}"
    );
}

/// The errors of an operation's answer: a result with `errors` (`next`) or an `error` message;
/// async-graphql answers some refusals one way and some the other.
pub fn errors_of(message: &Value) -> &Value {
    match message["type"].as_str() {
        Some("next") => &message["payload"]["errors"],
        Some("error") => &message["payload"],
        _ => panic!("unexpected message {message}"),
    }
}

/// The close frame the server ends the connection with (skipping other messages).
pub async fn close_code(socket: &mut Socket) -> (u16, String) {
    loop {
        let message = tokio::time::timeout(MESSAGE_TIMEOUT, socket.next())
            .await
            .expect("no close within the timeout")
            .expect("the connection ended without a close frame")
            .unwrap();
        if let Message::Close(frame) = message {
            let frame = frame.expect("a close frame with a code");
            return (u16::from(frame.code), frame.reason.to_string());
        }
    }
}

#[tokio::test]
async fn a_token_in_connection_init_runs_operations_as_its_subject() {
    let app = TestApp::spawn_sqlite().await;
    let token = app.token(
        "partner-system",
        &[amanah_infra::auth::Role::Integrator],
        None,
    );
    let mut socket = open(&app, Some(&token)).await;
    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": "{ me { sub roles } }" } }),
    )
    .await;
    let next = receive(&mut socket).await;
    assert_eq!(
        next["payload"]["data"]["me"],
        json!({ "sub": "partner-system", "roles": ["INTEGRATOR"] }),
        "{next}"
    );
}

#[tokio::test]
async fn a_bad_token_in_connection_init_closes_with_4403() {
    let app = TestApp::spawn_sqlite().await;
    let expired = {
        let secret = amanah_api::auth::hs256_secret(&app.config).unwrap();
        let now = chrono::Utc::now().timestamp();
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &json!({ "sub": "late", "roles": ["viewer"], "iss": "amanah", "aud": "amanah",
                     "exp": now - 3600 }),
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    for authorization in [
        json!("Bearer not.a.token"),
        json!(format!("Bearer {expired}")),
        json!("Basic dXNlcjpwYXNz"),
        json!(42),
    ] {
        let mut socket = connect(&app).await;
        send(
            &mut socket,
            json!({ "type": "connection_init", "payload": { "Authorization": authorization } }),
        )
        .await;
        let (code, reason) = close_code(&mut socket).await;
        assert_eq!(code, 4403, "{authorization}: {reason}");
        assert!(reason.starts_with("Forbidden"), "{reason}");
    }
}

#[tokio::test]
async fn a_subscribe_before_the_ack_closes_with_4401() {
    let app = TestApp::spawn_sqlite().await;
    let mut socket = connect(&app).await;
    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": "{ apiVersion }" } }),
    )
    .await;
    let (code, _) = close_code(&mut socket).await;
    assert_eq!(code, 4401);
}

#[tokio::test]
async fn an_expiring_token_ends_the_connection_with_4401() {
    let app = TestApp::spawn_sqlite().await;
    let secret = amanah_api::auth::hs256_secret(&app.config).unwrap();
    let token = amanah_infra::auth::mint_hs256(
        &secret,
        "short-lived",
        &[amanah_infra::auth::Role::Viewer],
        None,
        Duration::from_secs(1),
        "amanah",
        "amanah",
    )
    .unwrap();
    let mut socket = open(&app, Some(&token)).await;
    // The token expires within a second: the server closes the connection on its own.
    let (code, reason) = close_code(&mut socket).await;
    assert_eq!(code, 4401, "{reason}");
    assert!(reason.contains("expired"), "{reason}");
}
