//! GraphQL over WebSocket (`graphql-transport-ws`, and the legacy `graphql-ws`), with the caller's
//! token in the `connection_init` payload.
//!
//! async-graphql's [`WebSocket`] speaks the protocol; this module is the actix actor around it
//! (the stock `async_graphql_actix_web::GraphQLSubscription` closes every refused
//! `connection_init` with 1002 and cannot end a connection when its token expires), adding:
//!
//! * **Authentication** in `connection_init`: `{"Authorization": "Bearer …"}` (the key is also
//!   accepted in lower case). No `Authorization` is an anonymous connection; a token that verifies
//!   puts its [`Identity`] into the connection's data, so every operation on the connection runs as
//!   it; anything else closes the socket with **4403** (Forbidden), the protocol's answer to a
//!   refused `connection_init`.
//! * **4401** (Unauthorized) for a `subscribe` that arrives before the server's `connection_ack`.
//! * **Expiry**: when the token expires (its `exp`), the server closes the socket with 4401, which
//!   ends every subscription on it; the client reconnects with a fresh token. (Each subscription
//!   also ends itself at the expiry, with an `UNAUTHENTICATED` error: see
//!   [`crate::graphql::subscription`].)
//!
//! The [`RequestId`] of the upgrade request is the connection's: every operation on it carries it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::{
    Actor, ActorContext as _, ActorStreamExt as _, AsyncContext as _, ContextFutureSpawner as _,
    StreamHandler, WrapStream as _,
};
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_actors::ws::{CloseCode, CloseReason, Message, ProtocolError, WebsocketContext};
use amanah_infra::auth::{AuthError, Identity, Verifier};
use async_graphql::Data;
use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, WebSocket, WebSocketProtocols, WsMessage};
use chrono::{DateTime, Utc};
use futures::channel::mpsc;

use crate::{graphql::AmanahSchema, request_id::RequestId};

/// Close code: a `connection_init` whose token was refused.
pub const CLOSE_FORBIDDEN: u16 = 4403;
/// Close code: an operation before the connection was acknowledged, or an expired token.
pub const CLOSE_UNAUTHORIZED: u16 = 4401;

/// How often the server pings, and how long a silent client is kept.
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// What `connection_init` decided, shared between the protocol's callback and the actor.
#[derive(Debug, Clone, Default)]
enum Admission {
    /// No `connection_init` yet.
    #[default]
    Waiting,
    /// Accepted; the token's expiry, when there is a token.
    Accepted(Option<DateTime<Utc>>),
    /// Refused, with the client-safe reason.
    Refused(String),
}

/// Upgrades `GET /graphql` to a WebSocket connection.
///
/// # Errors
/// An HTTP error response when the request is not a valid WebSocket handshake or names no GraphQL
/// sub-protocol.
pub fn start(
    req: &HttpRequest,
    payload: web::Payload,
    schema: AmanahSchema,
    verifier: Arc<Verifier>,
    request_id: RequestId,
) -> Result<HttpResponse, actix_web::Error> {
    let protocol = req
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|value| value.to_str().ok())
        .and_then(|protocols| {
            protocols
                .split(',')
                .find_map(|p| p.trim().parse::<WebSocketProtocols>().ok())
        })
        .ok_or_else(|| {
            actix_web::error::ErrorBadRequest(
                "name a GraphQL WebSocket sub-protocol: graphql-transport-ws",
            )
        })?;
    let connection = Connection {
        schema,
        verifier,
        request_id,
        protocol,
        last_heartbeat: Instant::now(),
        messages: None,
        continuation: Vec::new(),
        admission: Arc::new(Mutex::new(Admission::Waiting)),
        acknowledged: false,
    };
    actix_web_actors::ws::WsResponseBuilder::new(connection, req, payload)
        .protocols(&ALL_WEBSOCKET_PROTOCOLS)
        .start()
}

/// One WebSocket connection.
struct Connection {
    schema: AmanahSchema,
    verifier: Arc<Verifier>,
    request_id: RequestId,
    protocol: WebSocketProtocols,
    last_heartbeat: Instant,
    /// Client messages, on their way to the protocol.
    messages: Option<mpsc::UnboundedSender<Vec<u8>>>,
    /// A fragmented message being reassembled.
    continuation: Vec<u8>,
    admission: Arc<Mutex<Admission>>,
    /// Whether `connection_ack` was sent.
    acknowledged: bool,
}

impl Connection {
    fn admission(&self) -> Admission {
        self.admission
            .lock()
            .map(|admission| admission.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    fn close(ctx: &mut WebsocketContext<Self>, code: u16, description: String) {
        ctx.close(Some(CloseReason {
            code: CloseCode::Other(code),
            description: Some(description),
        }));
        ctx.stop();
    }

    /// Called as the server sends `connection_ack`: ends the connection when the token expires.
    fn acknowledged(&mut self, ctx: &mut WebsocketContext<Self>) {
        self.acknowledged = true;
        if let Admission::Accepted(Some(expires_at)) = self.admission() {
            let remaining = (expires_at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            ctx.run_later(remaining, |_, ctx| {
                Self::close(
                    ctx,
                    CLOSE_UNAUTHORIZED,
                    "Unauthorized: the token has expired".to_owned(),
                );
            });
        }
    }

    /// The `type` of a protocol message, when it is one this module looks at.
    fn message_type(message: &[u8]) -> Option<&'static str> {
        #[derive(serde::Deserialize)]
        struct Typed {
            #[serde(rename = "type")]
            kind: String,
        }
        let typed: Typed = serde_json::from_slice(message).ok()?;
        ["connection_ack", "subscribe", "start"]
            .into_iter()
            .find(|known| *known == typed.kind)
    }

    /// Whether a client message is an operation (`subscribe`, or the legacy `start`).
    fn is_operation(message: &[u8]) -> bool {
        matches!(Self::message_type(message), Some("subscribe" | "start"))
    }
}

/// The `connection_init` callback: verifies the payload's `Authorization` and records the outcome
/// for the actor.
async fn admit(
    verifier: Arc<Verifier>,
    admission: Arc<Mutex<Admission>>,
    payload: serde_json::Value,
) -> async_graphql::Result<Data> {
    let authorization = payload
        .get("Authorization")
        .or_else(|| payload.get("authorization"));
    let outcome = match authorization {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(value)) => {
            crate::auth::authenticate(&verifier, Some(value)).await
        }
        Some(_) => Err(AuthError::Malformed(
            "the connection_init Authorization is not a string",
        )),
    };
    let (decision, result) = match outcome {
        Ok(identity) => {
            let expires_at = identity.as_ref().map(|i: &Identity| i.expires_at);
            let mut data = Data::default();
            if let Some(identity) = identity {
                data.insert(identity);
            }
            (Admission::Accepted(expires_at), Ok(data))
        }
        Err(error) => {
            tracing::info!(%error, "refused a WebSocket connection_init token");
            let message = error.message();
            (
                Admission::Refused(message.clone()),
                Err(async_graphql::Error::new(message)),
            )
        }
    };
    match admission.lock() {
        Ok(mut slot) => *slot = decision,
        Err(poisoned) => *poisoned.into_inner() = decision,
    }
    result
}

impl Actor for Connection {
    type Context = WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(HEARTBEAT_INTERVAL, |act, ctx| {
            if Instant::now().duration_since(act.last_heartbeat) > CLIENT_TIMEOUT {
                ctx.stop();
            }
            ctx.ping(b"");
        });

        let (sender, receiver) = mpsc::unbounded::<Vec<u8>>();
        let mut data = Data::default();
        data.insert(self.request_id.clone());
        let verifier = Arc::clone(&self.verifier);
        let admission = Arc::clone(&self.admission);
        WebSocket::new(self.schema.clone(), receiver, self.protocol)
            .connection_data(data)
            .on_connection_init(move |payload| admit(verifier, admission, payload))
            .into_actor(self)
            .map(|message, act, ctx| match message {
                WsMessage::Text(text) => {
                    if !act.acknowledged
                        && Self::message_type(text.as_bytes()) == Some("connection_ack")
                    {
                        act.acknowledged(ctx);
                    }
                    ctx.text(text);
                }
                WsMessage::Close(code, description) => match act.admission() {
                    Admission::Refused(reason) => {
                        Self::close(ctx, CLOSE_FORBIDDEN, format!("Forbidden: {reason}"));
                    }
                    _ => ctx.close(Some(CloseReason {
                        code: code.into(),
                        description: Some(description),
                    })),
                },
            })
            .finish()
            .spawn(ctx);
        self.messages = Some(sender);
    }
}

impl StreamHandler<Result<Message, ProtocolError>> for Connection {
    fn handle(&mut self, message: Result<Message, ProtocolError>, ctx: &mut Self::Context) {
        let Ok(message) = message else {
            ctx.stop();
            return;
        };
        let text = match message {
            Message::Ping(bytes) => {
                self.last_heartbeat = Instant::now();
                ctx.pong(&bytes);
                None
            }
            Message::Pong(_) => {
                self.last_heartbeat = Instant::now();
                None
            }
            Message::Continuation(item) => match item {
                actix_http::ws::Item::FirstText(bytes)
                | actix_http::ws::Item::FirstBinary(bytes) => {
                    self.continuation = bytes.to_vec();
                    None
                }
                actix_http::ws::Item::Continue(bytes) => {
                    self.continuation.extend_from_slice(&bytes);
                    None
                }
                actix_http::ws::Item::Last(bytes) => {
                    self.continuation.extend_from_slice(&bytes);
                    Some(std::mem::take(&mut self.continuation))
                }
            },
            Message::Text(text) => Some(text.into_bytes().to_vec()),
            Message::Binary(bytes) => Some(bytes.to_vec()),
            Message::Close(_) => {
                ctx.stop();
                None
            }
            Message::Nop => None,
        };
        let Some(text) = text else {
            return;
        };
        if !self.acknowledged && Self::is_operation(&text) {
            Self::close(
                ctx,
                CLOSE_UNAUTHORIZED,
                "Unauthorized: send connection_init and wait for connection_ack first".to_owned(),
            );
            return;
        }
        let sent = self
            .messages
            .as_ref()
            .is_some_and(|sender| sender.unbounded_send(text).is_ok());
        if !sent {
            ctx.stop();
        }
    }
}
