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

/// The upgrade request of a `graphql-transport-ws` connection to `app`.
fn upgrade_request(app: &TestApp) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut request = format!("ws://{}/graphql", app.address)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    request
}

pub async fn connect(app: &TestApp) -> Socket {
    let (socket, response) = connect_async(upgrade_request(app)).await.unwrap();
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

/// A subscription that runs until it is stopped: the audit log, followed by an auditor.
const FOLLOW_THE_LOG: &str = "subscription { auditEventAppended { index } }";

fn subscribe_message(id: &str, query: &str) -> Value {
    json!({ "id": id, "type": "subscribe", "payload": { "query": query } })
}

/// Issue 9: continuation frames were appended with no cap, so one socket could make the server
/// buffer any amount (600 MB took RSS from 184 to 790 MB). A message over the body limit now
/// closes the socket with 1009 before it is held whole.
#[tokio::test]
async fn a_message_over_the_body_limit_closes_with_1009() {
    use tokio_tungstenite::tungstenite::protocol::frame::{
        Frame,
        coding::{Data, OpCode},
    };
    let app = TestApp::spawn_sqlite_with(|config| config.limits.body_bytes = 4096).await;

    // Fragments: each small, together over the limit.
    let mut socket = open(&app, None).await;
    let chunk = "x".repeat(1000);
    let first = Frame::message(chunk.clone(), OpCode::Data(Data::Text), false);
    socket.send(Message::Frame(first)).await.unwrap();
    for _ in 0..10 {
        let more = Frame::message(chunk.clone(), OpCode::Data(Data::Continue), false);
        if socket.send(Message::Frame(more)).await.is_err() {
            break; // closed already
        }
    }
    let (code, reason) = close_code(&mut socket).await;
    assert_eq!(code, 1009, "{reason}");

    // One frame over the limit.
    let mut socket = open(&app, None).await;
    let _ = socket.send(Message::text("y".repeat(5000))).await;
    let (code, reason) = close_code(&mut socket).await;
    assert_eq!(code, 1009, "{reason}");

    // A fragmented message within the limit still works.
    let mut socket = open(&app, None).await;
    let message = subscribe_message("1", "{ apiVersion }").to_string();
    let (head, tail) = message.split_at(10);
    let first = Frame::message(head.to_owned(), OpCode::Data(Data::Text), false);
    let last = Frame::message(tail.to_owned(), OpCode::Data(Data::Continue), true);
    socket.send(Message::Frame(first)).await.unwrap();
    socket.send(Message::Frame(last)).await.unwrap();
    assert_eq!(receive(&mut socket).await["type"], "next");
}

/// A frame the WebSocket protocol does not allow (a reserved opcode) closes the socket with 1002
/// (protocol error), not silently.
#[tokio::test]
async fn a_malformed_frame_closes_with_1002() {
    use tokio_tungstenite::tungstenite::protocol::frame::{
        Frame,
        coding::{Data, OpCode},
    };
    let app = TestApp::spawn_sqlite().await;
    let mut socket = open(&app, None).await;
    let reserved = Frame::message("x", OpCode::Data(Data::Reserved(3)), true);
    socket.send(Message::Frame(reserved)).await.unwrap();
    let (code, reason) = close_code(&mut socket).await;
    assert_eq!(code, 1002, "{reason}");
}

/// graphql-transport-ws: "If the server already has a subscriber with the same id, it must close
/// the socket immediately with 4409". The id is free again once its operation completed.
#[tokio::test]
async fn a_subscribe_reusing_a_running_id_closes_with_4409() {
    let app = TestApp::spawn_sqlite().await;
    let auditor = app.token("sai", &[amanah_infra::auth::Role::Auditor], None);
    let mut socket = open(&app, Some(&auditor)).await;
    // A finished operation's id may be used again.
    send(&mut socket, subscribe_message("q", "{ apiVersion }")).await;
    assert_eq!(receive(&mut socket).await["type"], "next");
    assert_eq!(receive(&mut socket).await["type"], "complete");
    send(&mut socket, subscribe_message("q", "{ apiVersion }")).await;
    assert_eq!(receive(&mut socket).await["type"], "next");
    assert_eq!(receive(&mut socket).await["type"], "complete");
    // A running one's may not.
    send(&mut socket, subscribe_message("s", FOLLOW_THE_LOG)).await;
    send(&mut socket, subscribe_message("s", FOLLOW_THE_LOG)).await;
    let (code, reason) = close_code(&mut socket).await;
    assert_eq!(code, 4409, "{reason}");
    assert_eq!(reason, "Subscriber for s already exists");
}

/// graphql-transport-ws: a socket that does not send `connection_init` in time is closed with
/// 4408; before, an idle socket stayed open as long as it answered pings.
#[tokio::test]
async fn a_socket_without_connection_init_is_closed_with_4408() {
    let app =
        TestApp::spawn_sqlite_with(|config| config.limits.websocket_init_timeout_secs = 1).await;
    let mut socket = connect(&app).await;
    let (code, reason) = close_code(&mut socket).await;
    assert_eq!(code, 4408, "{reason}");
    assert_eq!(reason, "Connection initialisation timeout");
    // A socket that sent it stays.
    let mut socket = open(&app, None).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    send(&mut socket, subscribe_message("1", "{ apiVersion }")).await;
    assert_eq!(receive(&mut socket).await["type"], "next");
}

/// Operations per connection are capped: one beyond is refused with `RATE_LIMITED` and the
/// connection goes on; when one completes, there is room again.
#[tokio::test]
async fn operations_beyond_the_per_connection_limit_are_refused_with_rate_limited() {
    let app = TestApp::spawn_sqlite_with(|config| config.limits.subscriptions_per_socket = 2).await;
    let auditor = app.token("sai", &[amanah_infra::auth::Role::Auditor], None);
    let mut socket = open(&app, Some(&auditor)).await;
    send(&mut socket, subscribe_message("a", FOLLOW_THE_LOG)).await;
    send(&mut socket, subscribe_message("b", FOLLOW_THE_LOG)).await;
    send(&mut socket, subscribe_message("c", FOLLOW_THE_LOG)).await;
    let refused = receive(&mut socket).await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["id"], "c");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED");
    // Stop one; another fits.
    send(&mut socket, json!({ "id": "a", "type": "complete" })).await;
    send(&mut socket, subscribe_message("d", "{ apiVersion }")).await;
    let mut next = receive(&mut socket).await;
    if next == json!({ "id": "a", "type": "complete" }) {
        // async-graphql confirms the stop.
        next = receive(&mut socket).await;
    }
    assert_eq!(
        (next["type"].as_str(), next["id"].as_str()),
        (Some("next"), Some("d")),
        "{next}"
    );
}

/// Connections per process are capped: an upgrade beyond is answered 503 with `RATE_LIMITED`
/// before the protocol starts, and a closed connection makes room.
#[tokio::test]
async fn upgrades_beyond_the_process_limit_get_503() {
    let app = TestApp::spawn_sqlite_with(|config| config.limits.websockets = 2).await;
    let mut first = open(&app, None).await;
    let _second = open(&app, None).await;
    let request = upgrade_request(&app);
    match connect_async(request.clone()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
            assert!(response.headers().contains_key("retry-after"));
            let body: Value = serde_json::from_slice(response.body().as_deref().unwrap()).unwrap();
            assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
        }
        other => panic!(
            "a third connection was not refused: {:?}",
            other.map(|_| ())
        ),
    }
    // Plain HTTP is not affected.
    app.graphql("{ apiVersion }", Value::Null)
        .await
        .assert_no_errors();
    // Closing one makes room (the slot is given back when the connection has ended).
    first.close(None).await.unwrap();
    while first.next().await.is_some() {}
    let deadline = tokio::time::Instant::now() + MESSAGE_TIMEOUT;
    loop {
        match connect_async(request.clone()).await {
            Ok(_) => break,
            Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(error) => panic!("no room after a close: {error}"),
        }
    }
}

/// The flood of issue 9: thousands of `projectChanged` subscriptions on one anonymous socket took
/// every database connection, so they failed with INTERNAL_SERVER_ERROR and so did another
/// client's query. Now the connection's limit refuses the excess, the accepted ones start, and
/// the other client is served throughout.
#[tokio::test]
async fn a_subscription_flood_on_one_socket_neither_fails_nor_starves_others() {
    let app = TestApp::spawn_sqlite().await;
    let editor = app.token("editor", &[amanah_infra::auth::Role::Editor], None);
    let (organisation, _) = app
        .register_organisation(&editor, "Flooded Ministry", Some("XM-FLOOD-1"))
        .await;
    let response = app
        .graphql_as(
            &editor,
            "mutation($input: RegisterProjectInput!) { registerProject(input: $input) { project { id } } }",
            json!({ "input": {
                "iatiIdentifier": "XM-FLOOD-1-P1", "reportingOrganisationId": organisation,
                "title": "Followed by many", "description": "A flood of subscribers.",
                "plannedStart": "2020-01-01", "plannedEnd": "2021-12-31",
                "recipientCountries": [{ "country": "ID", "percentage": "100" }],
                "sectors": [{ "code": "15113", "percentage": "100" }],
                "participatingOrganisations": [{ "organisationId": organisation, "role": "FUNDING" }],
            } }),
        )
        .await;
    response.assert_no_errors();
    let project = response.body["data"]["registerProject"]["project"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let flood = 1000;
    let limit = amanah_api::config::Limits::DEFAULT_SUBSCRIPTIONS_PER_SOCKET;
    let mut socket = open(&app, None).await;
    let query = format!("subscription {{ projectChanged(id: \"{project}\") {{ id }} }}");
    for n in 0..flood {
        send(&mut socket, subscribe_message(&n.to_string(), &query)).await;
    }
    // Meanwhile another client is served.
    let other = app
        .graphql("{ projects(first: 1) { totalCount } }", Value::Null)
        .await;
    other.assert_no_errors();

    let (mut started, mut refused) = (0, 0);
    while started + refused < flood {
        let message = receive(&mut socket).await;
        match message["type"].as_str() {
            Some("next") => {
                assert!(message["payload"].get("errors").is_none(), "{message}");
                started += 1;
            }
            Some("error") => {
                assert_eq!(
                    message["payload"][0]["extensions"]["code"], "RATE_LIMITED",
                    "{message}"
                );
                refused += 1;
            }
            _ => panic!("unexpected {message}"),
        }
    }
    assert_eq!((started, refused), (limit, flood - limit));
}

/// A client that stops answering pings is closed with 1001 (it used to be dropped without a
/// close frame, which clients cannot tell from a network failure).
#[tokio::test]
async fn a_client_that_stops_answering_pings_is_closed_with_1001() {
    let app = TestApp::spawn_sqlite().await;
    let mut socket = open(&app, None).await;
    // Not reading: tungstenite answers pings only while it reads.
    tokio::time::sleep(Duration::from_secs(16)).await;
    let (code, reason) = close_code(&mut socket).await;
    assert_eq!(code, 1001, "{reason}");
    assert!(reason.contains("no answer to pings"), "{reason}");
}

/// Over the WebSocket too, a result keeps the order of the selection (async-graphql collects a
/// query's fields in the order they finish).
#[tokio::test]
async fn results_over_websocket_keep_the_order_of_the_selection() {
    let app = TestApp::spawn_sqlite().await;
    let mut socket = open(&app, None).await;
    send(
        &mut socket,
        subscribe_message(
            "1",
            "{ projects(first: 1) { totalCount } memberStates { joinedOn } apiVersion __typename }",
        ),
    )
    .await;
    let text = loop {
        let message = tokio::time::timeout(MESSAGE_TIMEOUT, socket.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Message::Text(text) = message
            && text.contains("\"next\"")
        {
            break text.to_string();
        }
    };
    let at = |key: &str| text.find(&format!("\"{key}\"")).unwrap();
    assert!(at("projects") < at("memberStates"), "{text}");
    assert!(at("memberStates") < at("apiVersion"), "{text}");
    assert!(at("apiVersion") < at("__typename"), "{text}");
}
