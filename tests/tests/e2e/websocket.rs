//! `GET /graphql` with a WebSocket upgrade speaks `graphql-transport-ws`.

use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{Message, client::IntoClientRequest as _, http::HeaderValue},
};

use crate::test_app::TestApp;

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// How long to wait for one message before the test fails (it never sleeps).
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(10);

async fn connect(app: &TestApp) -> Socket {
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

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// The next protocol message, skipping keep-alive pings.
async fn receive(socket: &mut Socket) -> Value {
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
    let mut socket = connect(&app).await;
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": {} }),
    )
    .await;
    assert_eq!(receive(&mut socket).await["type"], "connection_ack");

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
    let errors = match message["type"].as_str() {
        Some("next") => &message["payload"]["errors"],
        Some("error") => &message["payload"],
        _ => panic!("unexpected message {message}"),
    };
    assert_eq!(
        errors[0]["extensions"]["code"], "GRAPHQL_PARSE_FAILED",
        "{message}"
    );
}
