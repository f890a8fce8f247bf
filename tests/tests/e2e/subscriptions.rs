//! Subscriptions over `graphql-transport-ws`: `auditEventAppended` (auditors and admins) delivers
//! every appended event in order and resumes from `fromIndex` without gaps; `projectChanged`
//! follows one project; access is checked when subscribing; an expired token ends the
//! subscription and nothing appended after the expiry reaches the client.

use std::time::Duration;

use amanah_infra::auth::Role;
use futures::StreamExt as _;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::test_app::TestApp;
use crate::websocket::{MESSAGE_TIMEOUT, Socket, errors_of, open, receive, send};

const AUDIT_SUBSCRIPTION: &str = "subscription($filter: AuditEventFilter, $from: Int) {
    auditEventAppended(filter: $filter, fromIndex: $from) { index type stream actor { sub } } }";

async fn subscribe(socket: &mut Socket, id: &str, query: &str, variables: Value) {
    send(
        socket,
        json!({ "id": id, "type": "subscribe",
                "payload": { "query": query, "variables": variables } }),
    )
    .await;
}

/// The `data` of the next `next` message of subscription `id`.
async fn next_data(socket: &mut Socket, id: &str) -> Value {
    let message = receive(socket).await;
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(message["id"], id, "{message}");
    assert!(message["payload"]["errors"].is_null(), "{message}");
    message["payload"]["data"].clone()
}

/// Fails if anything but keep-alives arrives within `quiet`.
async fn assert_silent(socket: &mut Socket, quiet: Duration) {
    let deadline = tokio::time::Instant::now() + quiet;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => return,
            Ok(Some(Ok(Message::Text(text)))) => {
                let value: Value = serde_json::from_str(&text).unwrap();
                assert!(
                    value["type"] == "ping" || value["type"] == "pong",
                    "unexpected message {value}"
                );
            }
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            Ok(other) => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn audit_events_arrive_in_order_and_resume_from_an_index_without_gaps() {
    let app = TestApp::spawn_sqlite().await;
    let editor = app.token("editor@asean.org", &[Role::Editor], None);
    let auditor = app.token("sai-auditor", &[Role::Auditor], None);
    let (_, first) = app
        .register_organisation(&editor, "Before the subscription", None)
        .await;

    let mut socket = open(&app, Some(&auditor)).await;
    subscribe(
        &mut socket,
        "audit",
        AUDIT_SUBSCRIPTION,
        json!({ "from": first + 1 }),
    )
    .await;
    let mut appended = Vec::new();
    for name in [
        "Kementerian Keuangan",
        "Jabatan Audit Negara",
        "Commission on Audit",
    ] {
        appended.push(app.register_organisation(&editor, name, None).await.1);
    }
    for expected in &appended {
        let event = &next_data(&mut socket, "audit").await["auditEventAppended"];
        assert_eq!(event["index"], *expected, "{event}");
        assert_eq!(event["type"], "OrganisationRegistered");
        assert_eq!(event["actor"]["sub"], "editor@asean.org");
    }
    assert_eq!(appended, [first + 1, first + 2, first + 3]);
    drop(socket);

    // Reconnecting with fromIndex = the last index seen + 1 misses nothing: the events appended
    // while disconnected first, then new ones as they come, filtered.
    let (_, while_away) = app
        .register_organisation(&editor, "Appended while away", None)
        .await;
    let mut socket = open(&app, Some(&auditor)).await;
    subscribe(
        &mut socket,
        "resume",
        AUDIT_SUBSCRIPTION,
        json!({ "from": first + 1, "filter": { "type": "OrganisationRegistered" } }),
    )
    .await;
    for expected in [first + 1, first + 2, first + 3, while_away] {
        let event = &next_data(&mut socket, "resume").await["auditEventAppended"];
        assert_eq!(event["index"], expected, "{event}");
    }
    let (_, live) = app
        .register_organisation(&editor, "Appended live", None)
        .await;
    let event = &next_data(&mut socket, "resume").await["auditEventAppended"];
    assert_eq!(event["index"], live);

    // With indexTo, the subscription completes after that index.
    subscribe(
        &mut socket,
        "bounded",
        AUDIT_SUBSCRIPTION,
        json!({ "from": 0, "filter": { "indexTo": first + 1 } }),
    )
    .await;
    let mut seen = Vec::new();
    loop {
        let message = receive(&mut socket).await;
        if message["id"] != "bounded" {
            continue;
        }
        match message["type"].as_str() {
            Some("next") => seen.push(
                message["payload"]["data"]["auditEventAppended"]["index"]
                    .as_u64()
                    .unwrap(),
            ),
            Some("complete") => break,
            _ => panic!("unexpected {message}"),
        }
    }
    assert_eq!(seen, (0..=first + 1).collect::<Vec<_>>());
}

#[tokio::test]
async fn without_from_index_only_new_events_arrive() {
    let app = TestApp::spawn_sqlite().await;
    let editor = app.token("editor@asean.org", &[Role::Editor], None);
    let admin = app.token("admin", &[Role::Admin], None);
    let (_, before) = app
        .register_organisation(&editor, "Before the subscription", None)
        .await;
    let mut socket = open(&app, Some(&admin)).await;
    subscribe(&mut socket, "new", AUDIT_SUBSCRIPTION, json!({})).await;
    // The subscription starts at the log's end when the server runs it; append until the first
    // event arrives (the first appends may land before it started).
    let mut appended = Vec::new();
    let first_seen = loop {
        assert!(appended.len() < 50, "no event arrived");
        appended.push(
            app.register_organisation(&editor, &format!("Live {}", appended.len()), None)
                .await
                .1,
        );
        match tokio::time::timeout(Duration::from_millis(200), receive(&mut socket)).await {
            Ok(message) => {
                assert_eq!(message["type"], "next", "{message}");
                break message["payload"]["data"]["auditEventAppended"]["index"]
                    .as_u64()
                    .unwrap();
            }
            Err(_) => continue,
        }
    };
    assert!(
        first_seen > before,
        "an event from before the subscription: {first_seen}"
    );
    assert!(appended.contains(&first_seen));
    // From there on, each event in turn.
    let rest: Vec<u64> = appended
        .iter()
        .copied()
        .filter(|i| *i > first_seen)
        .collect();
    for expected in rest {
        let event = &next_data(&mut socket, "new").await["auditEventAppended"];
        assert_eq!(event["index"], expected);
    }
    let (_, next) = app.register_organisation(&editor, "One more", None).await;
    assert_eq!(
        next_data(&mut socket, "new").await["auditEventAppended"]["index"],
        next
    );
}

#[tokio::test]
async fn only_auditors_and_admins_may_follow_the_audit_log() {
    let app = TestApp::spawn_sqlite().await;
    let size = app.log_size().await;
    for (token, code) in [
        (None, "UNAUTHENTICATED"),
        (
            Some(app.token("reader", &[Role::Viewer], None)),
            "FORBIDDEN",
        ),
        (
            Some(app.token("editor", &[Role::Editor], None)),
            "FORBIDDEN",
        ),
    ] {
        let mut socket = open(&app, token.as_deref()).await;
        subscribe(&mut socket, "1", AUDIT_SUBSCRIPTION, json!({})).await;
        let message = receive(&mut socket).await;
        let errors = errors_of(&message);
        assert_eq!(errors[0]["extensions"]["code"], code, "{message}");
    }
    // A bad resume point names its field.
    let admin = app.token("admin", &[Role::Admin], None);
    let mut socket = open(&app, Some(&admin)).await;
    for from in [-1, i64::try_from(size).unwrap() + 5] {
        subscribe(
            &mut socket,
            "bad",
            AUDIT_SUBSCRIPTION,
            json!({ "from": from }),
        )
        .await;
        let message = receive(&mut socket).await;
        let errors = errors_of(&message);
        assert_eq!(
            errors[0]["extensions"]["code"], "BAD_USER_INPUT",
            "{message}"
        );
        assert_eq!(errors[0]["extensions"]["field"], "fromIndex", "{message}");
        if message["type"] == "next" {
            assert_eq!(receive(&mut socket).await["type"], "complete");
        }
    }
}

#[tokio::test]
async fn project_changed_follows_one_project() {
    let app = TestApp::spawn_sqlite().await;
    let editor = app.token("editor@asean.org", &[Role::Editor], None);
    let (reporting, _) = app
        .register_organisation(&editor, "Federal Foreign Office", Some("XM-DAC-5-7"))
        .await;
    let project = |n: u32| {
        json!({ "input": {
            "iatiIdentifier": format!("XM-DAC-5-7-SUB-{n}"), "reportingOrganisationId": reporting,
            "title": format!("Followed project {n}"), "description": "Changed while followed.",
            "plannedStart": "2016-01-01", "plannedEnd": "2018-12-31",
            "recipientCountries": [{ "country": "ID", "percentage": "100" }],
            "sectors": [{ "code": "15113", "percentage": "100" }],
            "participatingOrganisations": [{ "organisationId": reporting, "role": "FUNDING" }],
        } })
    };
    let mut ids = Vec::new();
    for n in 0..2 {
        let response = app
            .graphql_as(
                &editor,
                "mutation($input: RegisterProjectInput!) { registerProject(input: $input) { project { id } } }",
                project(n),
            )
            .await;
        ids.push(
            response.body["data"]["registerProject"]["project"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let revise = |id: &str, version: u64, title: &str| json!({ "input": { "id": id, "expectedVersion": version, "title": title } });
    const REVISE: &str =
        "mutation($input: ReviseProjectInput!) { reviseProject(input: $input) { auditIndex } }";

    // Public read is on: an anonymous client may follow a project.
    let mut socket = open(&app, None).await;
    subscribe(
        &mut socket,
        "p",
        "subscription($id: ID!) { projectChanged(id: $id) { id title version } }",
        json!({ "id": ids[0] }),
    )
    .await;
    // First the project as it is: the subscription is live.
    let now = &next_data(&mut socket, "p").await["projectChanged"];
    assert_eq!(
        *now,
        json!({ "id": ids[0], "title": "Followed project 0", "version": 1 })
    );

    // A change to the other project is not delivered; the followed one's changes are, in order.
    for (id, version, title) in [
        (&ids[1], 1, "Other project, revised"),
        (&ids[0], 1, "Followed project, revised once"),
        (&ids[0], 2, "Followed project, revised twice"),
    ] {
        let response = app
            .graphql_as(&editor, REVISE, revise(id, version, title))
            .await;
        response.assert_no_errors();
    }
    let first = &next_data(&mut socket, "p").await["projectChanged"];
    assert_eq!(
        *first,
        json!({ "id": ids[0], "title": "Followed project, revised once", "version": 2 })
    );
    let second = &next_data(&mut socket, "p").await["projectChanged"];
    assert_eq!(second["version"], 3);
    assert_eq!(second["title"], "Followed project, revised twice");
    assert_silent(&mut socket, Duration::from_millis(300)).await;

    // An unknown project is NOT_FOUND.
    subscribe(
        &mut socket,
        "missing",
        "subscription($id: ID!) { projectChanged(id: $id) { id } }",
        json!({ "id": uuid::Uuid::now_v7().to_string() }),
    )
    .await;
    let message = receive(&mut socket).await;
    let errors = errors_of(&message);
    assert_eq!(errors[0]["extensions"]["code"], "NOT_FOUND", "{message}");
}

#[tokio::test]
async fn an_expired_token_ends_the_subscription_and_nothing_after_it_is_delivered() {
    let app = TestApp::spawn_sqlite().await;
    let editor = app.token("editor@asean.org", &[Role::Editor], None);
    let secret = amanah_api::auth::hs256_secret(&app.config).unwrap();
    let short_lived = amanah_infra::auth::mint_hs256(
        &secret,
        "short-lived-auditor",
        &[Role::Auditor],
        None,
        Duration::from_secs(3),
        "amanah",
        "amanah",
    )
    .unwrap();
    let mut socket = open(&app, Some(&short_lived)).await;
    let size = app.log_size().await;
    subscribe(
        &mut socket,
        "audit",
        AUDIT_SUBSCRIPTION,
        json!({ "from": size }),
    )
    .await;
    let (_, index) = app
        .register_organisation(&editor, "While the token is valid", None)
        .await;
    let event = &next_data(&mut socket, "audit").await["auditEventAppended"];
    assert_eq!(event["index"], index);

    // The token expires: the subscription ends — an UNAUTHENTICATED error and `complete`, then the
    // connection closed with 4401, or the close first — and nothing else reaches the client: an
    // event appended once the end began is never delivered.
    let started = tokio::time::Instant::now();
    let mut appended_after_expiry = false;
    loop {
        let message = tokio::time::timeout(MESSAGE_TIMEOUT, socket.next())
            .await
            .expect("the subscription did not end")
            .expect("the connection ended without a close frame")
            .unwrap();
        let ending = match message {
            Message::Close(frame) => {
                let frame = frame.expect("a close frame with a code");
                assert_eq!(u16::from(frame.code), 4401, "{frame:?}");
                break;
            }
            Message::Text(text) => {
                let value: Value = serde_json::from_str(&text).unwrap();
                match value["type"].as_str() {
                    Some("ping" | "pong") => false,
                    Some("next") => {
                        assert_eq!(
                            value["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
                            "an event after the expiry: {value}"
                        );
                        true
                    }
                    Some("complete") => true,
                    _ => panic!("unexpected {value}"),
                }
            }
            _ => false,
        };
        if ending && !appended_after_expiry {
            app.register_organisation(&editor, "After the expiry", None)
                .await;
            appended_after_expiry = true;
        }
    }
    assert!(started.elapsed() < MESSAGE_TIMEOUT);
}
