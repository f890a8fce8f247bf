//! GraphQL over WebSocket (`graphql-transport-ws`, and the legacy `graphql-ws`), with the caller's
//! token in the `connection_init` payload.
//!
//! async-graphql's [`WebSocket`] speaks the protocol; this module is the task around it, over
//! `actix-ws` (the stock `async_graphql_actix_web::GraphQLSubscription` closes every refused
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
//!
//! **Limits**, so that no client can take more than its share ([`WsLimits`]):
//!
//! * **Connections per process** ([`crate::config::Limits::websockets`]): an upgrade beyond it is
//!   answered `503` with `Retry-After` and `RATE_LIMITED`, before the protocol starts.
//! * **Message size**: a message (a frame, or fragments reassembled) larger than the HTTP body
//!   limit closes the socket with **1009** (message too big) before more of it is buffered.
//! * **Malformed frames** close the socket with **1002** (protocol error).
//! * **Messages in flight**: at most [`INBOUND_BUFFER`] client messages wait for the protocol; a
//!   client that sends faster than they are handled is closed with **1013** (try again later).
//! * **Operations per connection** ([`crate::config::Limits::subscriptions_per_socket`]): a
//!   `subscribe` beyond it gets an `error` message with `RATE_LIMITED`; the connection and its
//!   other operations go on.
//! * **Operation ids** are unique while the operation runs: a `subscribe` reusing one closes the
//!   socket with **4409** (Subscriber for `id` already exists), as the protocol says.
//! * **Shutdown**: when the server stops, every running operation gets `complete` and the socket
//!   is closed with **1001** (going away) at once, so that clients reconnect to another replica.
//! * **`connection_init` timeout** ([`crate::config::Limits::websocket_init_timeout_secs`]): a
//!   socket that has not sent it by then is closed with **4408** (Connection initialisation
//!   timeout).

use std::collections::HashSet;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, RETRY_AFTER, SEC_WEBSOCKET_PROTOCOL};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{CloseCode, CloseReason, Item, Message, MessageStream, ProtocolError, Session};
use amanah_infra::auth::{AuthError, Identity, Verifier};
use async_graphql::Data;
use async_graphql::http::{WebSocket, WebSocketProtocols, WsMessage};
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use futures::channel::mpsc;
use tokio::sync::OwnedSemaphorePermit;

use crate::{
    error::{ErrorCode, error_object},
    graphql::AmanahSchema,
    graphql_http::Rejection,
    request_id::RequestId,
    state::ApiState,
};

/// Close code: a `connection_init` whose token was refused.
pub const CLOSE_FORBIDDEN: u16 = 4403;
/// Close code: an operation before the connection was acknowledged, or an expired token.
pub const CLOSE_UNAUTHORIZED: u16 = 4401;
/// Close code: no `connection_init` within [`CONNECTION_INIT_TIMEOUT`].
pub const CLOSE_INIT_TIMEOUT: u16 = 4408;
/// Close code: a `subscribe` with the id of an operation still running.
pub const CLOSE_DUPLICATE_ID: u16 = 4409;
/// Close code (RFC 6455): a message larger than the limit.
pub const CLOSE_MESSAGE_TOO_BIG: u16 = 1009;
/// Close code (RFC 6455): the client stopped answering pings (or the server is stopping).
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code (RFC 6455): the client broke the WebSocket protocol (a malformed frame).
pub const CLOSE_PROTOCOL_ERROR: u16 = 1002;
/// Close code (RFC 6455): the server cannot keep up with this connection; retry later.
pub const CLOSE_TRY_AGAIN_LATER: u16 = 1013;

/// Client messages that may wait for the protocol on one connection.
pub const INBOUND_BUFFER: usize = 64;

/// Seconds a client refused for want of connections is asked to wait.
const RETRY_AFTER_SECS: u64 = 5;

/// The limits of one connection (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub struct WsLimits {
    /// Largest message, reassembled: the HTTP body limit.
    pub message_bytes: usize,
    /// Most operations running at once.
    pub operations: usize,
    /// How long the client may take to send `connection_init`.
    pub init_timeout: Duration,
}

impl WsLimits {
    /// From the configuration: a message may be as large as an HTTP body.
    #[must_use]
    pub fn of(limits: &crate::config::Limits) -> Self {
        Self {
            message_bytes: limits.body_bytes,
            operations: limits.subscriptions_per_socket,
            init_timeout: Duration::from_secs(limits.websocket_init_timeout_secs),
        }
    }
}

/// How often the server pings, and how long a silent client is kept.
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// What `connection_init` decided, shared between the protocol's callback and the connection's task.
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

/// The answer to an upgrade when the process holds as many connections as it may.
#[must_use]
pub fn too_many_connections() -> HttpResponse {
    Rejection::new(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::RateLimited,
        None,
        "The server holds as many WebSocket connections as it may; retry later or connect to \
         another replica."
            .to_owned(),
    )
    .with_header(RETRY_AFTER, RETRY_AFTER_SECS.to_string())
    .into_response(None)
}

/// Upgrades `GET /graphql` to a WebSocket connection with the limits of `state`'s configuration;
/// it holds `slot` (one of the process's connections) until it ends.
///
/// # Errors
/// An HTTP error response when the request is not a valid WebSocket handshake or names no GraphQL
/// sub-protocol.
pub fn start(
    req: &HttpRequest,
    payload: web::Payload,
    schema: AmanahSchema,
    state: &ApiState,
    request_id: RequestId,
    slot: OwnedSemaphorePermit,
) -> Result<HttpResponse, actix_web::Error> {
    let limits = WsLimits::of(&state.config.limits);
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
    let (mut response, session, messages) = actix_ws::handle(req, payload)?;
    response.headers_mut().insert(
        SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(protocol.sec_websocket_protocol()),
    );
    let connection = Connection {
        schema,
        verifier: Arc::clone(&state.verifier),
        request_id,
        protocol,
        last_heartbeat: Instant::now(),
        messages: None,
        continuation: Vec::new(),
        admission: Arc::new(Mutex::new(Admission::Waiting)),
        acknowledged: false,
        initialised: false,
        operations: HashSet::new(),
        limits,
        expires: None,
        _slot: slot,
    };
    let stopping = state.stopping.subscribe();
    // A frame larger than a whole message is refused before it is buffered.
    let messages = messages.max_frame_size(limits.message_bytes);
    actix_web::rt::spawn(connection.run(session, messages, stopping));
    Ok(response)
}

/// One WebSocket connection.
struct Connection {
    schema: AmanahSchema,
    verifier: Arc<Verifier>,
    request_id: RequestId,
    protocol: WebSocketProtocols,
    last_heartbeat: Instant,
    /// Client messages, on their way to the protocol (at most [`INBOUND_BUFFER`] waiting).
    messages: Option<mpsc::Sender<Bytes>>,
    /// A fragmented message being reassembled.
    continuation: Vec<u8>,
    admission: Arc<Mutex<Admission>>,
    /// Whether `connection_ack` was sent.
    acknowledged: bool,
    /// Whether the client sent `connection_init`.
    initialised: bool,
    /// Ids of the operations running: subscribed, and neither completed nor failed yet.
    operations: HashSet<String>,
    limits: WsLimits,
    /// When the token expires: the connection closes then (set at `connection_ack`).
    expires: Option<Instant>,
    /// One of the process's connections, given back when the connection ends.
    _slot: OwnedSemaphorePermit,
}

/// The parts of a protocol message this module looks at.
#[derive(serde::Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
}

/// What to do with a client message.
#[derive(Debug, PartialEq, Eq)]
enum Inbound {
    /// Hand it to the protocol.
    Forward,
    /// An operation before `connection_ack`: close with 4401.
    Unacknowledged,
    /// A `subscribe` with the id of a running operation: close with 4409.
    DuplicateId(String),
    /// A `subscribe` beyond the connection's operations: answer it with an `error`.
    TooManyOperations(String),
}

/// What the connection does after a step: go on, or end (the socket is closed or gone).
enum Step {
    Continue,
    End,
}

/// Closes the socket with `code` and `description`; the connection ends.
async fn close(session: &mut Option<Session>, code: u16, description: String) -> Step {
    if let Some(session) = session.take() {
        let _ = session
            .close(Some(CloseReason {
                code: CloseCode::Other(code),
                description: Some(description),
            }))
            .await;
    }
    Step::End
}

/// Goes on after a write to the socket that succeeded; ends when the socket is gone.
fn step<E>(written: Result<(), E>) -> Step {
    match written {
        Ok(()) => Step::Continue,
        Err(_) => Step::End,
    }
}

/// Sends a text message; the connection ends when the socket is gone.
async fn send(session: &mut Option<Session>, text: String) -> Step {
    match session.as_mut() {
        Some(open) => step(open.text(text).await),
        None => Step::End,
    }
}

impl Connection {
    fn admission(&self) -> Admission {
        self.admission
            .lock()
            .map(|admission| admission.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Called as the server sends `connection_ack`: the connection ends when the token expires.
    fn acknowledged(&mut self) {
        self.acknowledged = true;
        if let Admission::Accepted(Some(expires_at)) = self.admission() {
            let remaining = (expires_at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            self.expires = Some(Instant::now() + remaining);
        }
    }

    /// Decides what happens to a client message, and keeps track of the operations it starts
    /// and stops. Messages that are not JSON objects with a `type` are forwarded: the protocol
    /// answers them.
    fn inbound(&mut self, message: &[u8]) -> Inbound {
        let Ok(envelope) = serde_json::from_slice::<Envelope>(message) else {
            return Inbound::Forward;
        };
        match envelope.kind.as_str() {
            "connection_init" => {
                self.initialised = true;
                Inbound::Forward
            }
            "subscribe" | "start" if !self.acknowledged => Inbound::Unacknowledged,
            "subscribe" | "start" => {
                // Without an id the protocol refuses the message itself.
                let Some(id) = envelope.id else {
                    return Inbound::Forward;
                };
                if self.operations.contains(&id) {
                    Inbound::DuplicateId(id)
                } else if self.operations.len() >= self.limits.operations {
                    Inbound::TooManyOperations(id)
                } else {
                    self.operations.insert(id);
                    Inbound::Forward
                }
            }
            "complete" | "stop" => {
                if let Some(id) = envelope.id {
                    self.operations.remove(&id);
                }
                Inbound::Forward
            }
            _ => Inbound::Forward,
        }
    }

    /// Notes a server message: `connection_ack`, and the end of an operation (`complete`, or
    /// `error`, which ends it too). The protocol writes `type` first, so other messages (results,
    /// which may be large) are recognised without being parsed.
    fn outbound(&mut self, text: &str) {
        let ends_operation =
            text.starts_with(r#"{"type":"complete""#) || text.starts_with(r#"{"type":"error""#);
        if ends_operation {
            if let Ok(Envelope { id: Some(id), .. }) = serde_json::from_str::<Envelope>(text) {
                self.operations.remove(&id);
            }
        } else if !self.acknowledged && text.starts_with(r#"{"type":"connection_ack""#) {
            self.acknowledged();
        }
    }

    /// The `error` message refusing an operation beyond the connection's limit.
    fn too_many_operations(&self, id: &str) -> String {
        let error = error_object(
            ErrorCode::RateLimited,
            &format!(
                "This connection already runs {} operations, the most it may; complete one \
                 first, or open another connection.",
                self.limits.operations
            ),
        );
        // graphql-transport-ws sends a list of errors; the legacy protocol one error.
        let payload = match self.protocol {
            WebSocketProtocols::GraphQLWS => serde_json::json!([error]),
            WebSocketProtocols::SubscriptionsTransportWS => error,
        };
        serde_json::json!({ "type": "error", "id": id, "payload": payload }).to_string()
    }
}

/// The `connection_init` callback: verifies the payload's `Authorization` and records the outcome
/// for the connection's task.
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

impl Connection {
    /// Runs the connection until either side ends it: client messages go to the protocol (after
    /// the checks of [`Self::deliver`]), the protocol's answers to the client; pings keep a
    /// silent client from holding the connection; the `connection_init` timeout, the token's
    /// expiry and the server's stop close it.
    async fn run(
        mut self,
        session: Session,
        mut messages: MessageStream,
        mut stopping: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut session = Some(session);
        let (sender, receiver) = mpsc::channel::<Bytes>(INBOUND_BUFFER);
        self.messages = Some(sender);
        let mut data = Data::default();
        data.insert(self.request_id.clone());
        let verifier = Arc::clone(&self.verifier);
        let admission = Arc::clone(&self.admission);
        let mut protocol = pin!(
            WebSocket::new(self.schema.clone(), receiver, self.protocol)
                .connection_data(data)
                .on_connection_init(move |payload| admit(verifier, admission, payload))
        );
        let mut heartbeat = tokio::time::interval_at(
            tokio::time::Instant::now() + HEARTBEAT_INTERVAL,
            HEARTBEAT_INTERVAL,
        );
        let init_deadline = tokio::time::sleep(self.limits.init_timeout);
        let mut init_deadline = pin!(init_deadline);
        let mut init_checked = false;
        loop {
            let expiry = self.expires;
            let step = tokio::select! {
                message = messages.next() => match message {
                    Some(message) => self.received(&mut session, message).await,
                    None => Step::End,
                },
                answer = protocol.next() => match answer {
                    Some(WsMessage::Text(text)) => {
                        self.outbound(&text);
                        send(&mut session, text).await
                    }
                    Some(WsMessage::Close(code, description)) => match self.admission() {
                        Admission::Refused(reason) => {
                            close(&mut session, CLOSE_FORBIDDEN, format!("Forbidden: {reason}")).await
                        }
                        _ => close(&mut session, code, description).await,
                    },
                    None => Step::End,
                },
                _ = heartbeat.tick() => {
                    // Before `connection_init`, the initialisation timeout decides (4408).
                    if self.initialised && self.last_heartbeat.elapsed() > CLIENT_TIMEOUT {
                        close(
                            &mut session,
                            CLOSE_GOING_AWAY,
                            format!("Going away: no answer to pings for {} s", CLIENT_TIMEOUT.as_secs()),
                        )
                        .await
                    } else {
                        ping(&mut session).await
                    }
                }
                () = &mut init_deadline, if !init_checked => {
                    init_checked = true;
                    if self.initialised {
                        Step::Continue
                    } else {
                        close(&mut session, CLOSE_INIT_TIMEOUT, "Connection initialisation timeout".to_owned()).await
                    }
                }
                () = sleep_until(expiry), if expiry.is_some() => {
                    close(&mut session, CLOSE_UNAUTHORIZED, "Unauthorized: the token has expired".to_owned()).await
                }
                // An error means the server's state is gone: stopping too.
                _ = stopping.wait_for(|stopping| *stopping) => self.going_away(&mut session).await,
            };
            if matches!(step, Step::End) {
                return;
            }
        }
    }

    /// A message (or a failure) from the client.
    async fn received(
        &mut self,
        session: &mut Option<Session>,
        message: Result<Message, ProtocolError>,
    ) -> Step {
        let message = match message {
            Ok(message) => message,
            Err(ProtocolError::Overflow) => return self.too_big(session).await,
            Err(error) => {
                tracing::debug!(%error, "a WebSocket client broke the protocol");
                return close(
                    session,
                    CLOSE_PROTOCOL_ERROR,
                    "Protocol error: a malformed WebSocket frame".to_owned(),
                )
                .await;
            }
        };
        let text = match message {
            Message::Ping(bytes) => {
                self.last_heartbeat = Instant::now();
                return match session.as_mut() {
                    Some(open) => step(open.pong(&bytes).await),
                    None => Step::End,
                };
            }
            Message::Pong(_) => {
                self.last_heartbeat = Instant::now();
                return Step::Continue;
            }
            Message::Continuation(item) => {
                let (first, last, bytes) = match item {
                    Item::FirstText(bytes) | Item::FirstBinary(bytes) => (true, false, bytes),
                    Item::Continue(bytes) => (false, false, bytes),
                    Item::Last(bytes) => (false, true, bytes),
                };
                if first {
                    self.continuation.clear();
                }
                // Checked before buffering: a message over the limit is never held whole.
                if self.continuation.len() + bytes.len() > self.limits.message_bytes {
                    return self.too_big(session).await;
                }
                self.continuation.extend_from_slice(&bytes);
                if !last {
                    return Step::Continue;
                }
                Bytes::from(std::mem::take(&mut self.continuation))
            }
            Message::Text(text) => text.into_bytes(),
            Message::Binary(bytes) => bytes,
            Message::Close(reason) => {
                if let Some(open) = session.take() {
                    let _ = open.close(reason).await;
                }
                return Step::End;
            }
            Message::Nop => return Step::Continue,
        };
        self.deliver(session, text).await
    }

    /// The server is stopping: every running operation gets `complete`, then the socket is
    /// closed with 1001 (going away), so that the client reconnects, to another replica.
    async fn going_away(&mut self, session: &mut Option<Session>) -> Step {
        for id in std::mem::take(&mut self.operations) {
            let complete = serde_json::json!({ "type": "complete", "id": id }).to_string();
            if matches!(send(session, complete).await, Step::End) {
                return Step::End;
            }
        }
        close(
            session,
            CLOSE_GOING_AWAY,
            "Going away: the server is stopping".to_owned(),
        )
        .await
    }

    /// Closes with 1009: a message larger than the limit.
    async fn too_big(&mut self, session: &mut Option<Session>) -> Step {
        self.continuation = Vec::new();
        close(
            session,
            CLOSE_MESSAGE_TOO_BIG,
            format!(
                "Message too big: at most {} bytes",
                self.limits.message_bytes
            ),
        )
        .await
    }

    /// Hands a whole client message to the protocol, or refuses it.
    async fn deliver(&mut self, session: &mut Option<Session>, message: Bytes) -> Step {
        match self.inbound(&message) {
            Inbound::Forward => {}
            Inbound::Unacknowledged => {
                return close(
                    session,
                    CLOSE_UNAUTHORIZED,
                    "Unauthorized: send connection_init and wait for connection_ack first"
                        .to_owned(),
                )
                .await;
            }
            Inbound::DuplicateId(id) => {
                return close(
                    session,
                    CLOSE_DUPLICATE_ID,
                    format!("Subscriber for {id} already exists"),
                )
                .await;
            }
            Inbound::TooManyOperations(id) => {
                let refusal = self.too_many_operations(&id);
                return send(session, refusal).await;
            }
        }
        let Some(sender) = self.messages.as_mut() else {
            return Step::End;
        };
        match sender.try_send(message) {
            Ok(()) => Step::Continue,
            Err(error) if error.is_full() => {
                close(
                    session,
                    CLOSE_TRY_AGAIN_LATER,
                    "Try again later: messages arrive faster than they are handled".to_owned(),
                )
                .await
            }
            Err(_) => Step::End,
        }
    }
}

/// Pings the client; the connection ends when the socket is gone.
async fn ping(session: &mut Option<Session>) -> Step {
    match session.as_mut() {
        Some(open) => step(open.ping(b"").await),
        None => Step::End,
    }
}

/// Sleeps until `deadline` (never, without one: the branch is disabled then).
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}
