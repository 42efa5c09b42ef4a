//! The OpenAPI document, generated from the handlers' annotations, then made to
//! say what the server enforces ([`Hardening`]): the error answers every
//! authenticated, parameterised or JSON-taking operation can give, query
//! parameters where the annotations said path, and the limits (enums, lengths,
//! patterns) the handlers check. `scripts/schemathesis` holds the server to it.

use crate::api::{channels, conversations, dto, employees, ops, session, tokens};
use crate::{error, ingest};
use serde_json::{Map, Value, json};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Adds the bearer-token security scheme.
struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every endpoint of the service.
#[derive(OpenApi)]
#[openapi(
    info(title = "Replyline API", description = "Self-hosted messenger inbox with a reply clock. Times are RFC 3339 UTC; ids are strings."),
    modifiers(&Bearer, &Hardening),
    paths(
        session::login, session::logout, session::me, session::update_me,
        tokens::list, tokens::create, tokens::revoke,
        channels::read_members, channels::write_members, session::notifications, session::read_notification,
        employees::list, employees::create, employees::read, employees::update, employees::deactivate,
        channels::list, channels::create, channels::read, channels::update, channels::remove,
        channels::read_settings, channels::write_settings, crate::api::templates::list,
        conversations::list, conversations::open, conversations::read, conversations::messages, conversations::send,
        conversations::note, conversations::assign, conversations::close, conversations::events,
        conversations::inbox::mark_read, conversations::inbox::set_labels, conversations::inbox::labels,
        conversations::inbox::leave, conversations::inbox::contact_conversations,
        ops::advance_clock, ops::healthz, ops::metrics, ops::openapi, ops::demo_info, ops::demo_customer_message, ops::server_info,
        crate::api::preferences::read_own, crate::api::preferences::write_own,
        crate::api::preferences::read_any, crate::api::preferences::write_any,
        crate::api::webhooks::list, crate::api::webhooks::create, crate::api::webhooks::read,
        crate::api::webhooks::remove, crate::api::webhooks::deliveries,
        crate::api::routing::list_groups, crate::api::routing::read_group, crate::api::routing::create_group,
        crate::api::routing::update_group, crate::api::routing::delete_group,
        crate::api::routing::list_rules, crate::api::routing::replace_rules,
        crate::api::inbox::list, crate::api::inbox::retry, crate::api::media::read,
        crate::api::contacts::read, crate::api::contacts::update, crate::api::search::search,
        crate::api::quick_replies::list, crate::api::quick_replies::create, crate::api::quick_replies::read,
        crate::api::quick_replies::update, crate::api::quick_replies::remove, crate::api::quick_replies::render,
        crate::api::audit::list,
        ingest::whatsapp_handshake, ingest::whatsapp_post,
        crate::live::events_ws,
    ),
    components(schemas(
        error::ErrorBody, error::ErrorDetail,
        session::PatchMeRequest, tokens::TokenDto, tokens::NewTokenRequest, tokens::NewTokenResponse, channels::ChannelMembers,
        dto::EmployeeDto, dto::LoginRequest, dto::LoginResponse, dto::NewEmployeeRequest, dto::PatchEmployeeRequest,
        dto::WhatsappInput, dto::WhatsappPatch, dto::NewChannelRequest, dto::PatchChannelRequest, dto::WhatsappPublic, dto::ChannelDto,
        dto::ContactDto, dto::ConversationDto, dto::MessageDto, dto::EventDto, dto::NotificationDto,
        dto::LastMessageDto, dto::NoteRequest, dto::ReadRequest, dto::LabelsRequest,
        crate::api::preferences::PreferencesDto, crate::api::preferences::PreferencesRequest, crate::api::preferences::QuietHoursDto,
        crate::api::webhooks::WebhookDto, crate::api::webhooks::NewWebhookRequest, crate::api::webhooks::DeliveryDto,
        crate::api::routing::GroupDto, crate::api::routing::NewGroupRequest, crate::api::routing::PatchGroupRequest,
        crate::api::routing::RoutingRuleDto, crate::api::routing::RoutingRuleRequest,
        crate::api::inbox::FailedInboxDto,
        crate::api::contacts::ContactCardDto, crate::api::contacts::PatchContactRequest,
        crate::api::search::MessageResultDto, crate::api::search::SearchResultsDto,
        crate::api::quick_replies::QuickReplyDto, crate::api::quick_replies::NewQuickReplyRequest,
        crate::api::quick_replies::PatchQuickReplyRequest, crate::api::quick_replies::RenderedDto, crate::api::audit::AuditDto,
        ops::ServerInfo, ops::DemoInfo, ops::DemoMessageRequest, ops::DemoMessageResponse, crate::demo::DemoCustomer,
        crate::api::templates::TemplateDto, dto::TemplateRequest, crate::api::compose::FileMessageForm,
        dto::TextRequest, dto::OpenConversationRequest, dto::AssignRequest, dto::AdvanceRequest, dto::NowResponse, dto::HealthResponse,
    ))
)]
pub struct ApiDoc;

/// Makes the generated document match the server (issue 9, item 12).
struct Hardening;

impl Modify for Hardening {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Ok(mut doc) = serde_json::to_value(&*openapi) else {
            return;
        };
        harden(&mut doc);
        match serde_json::from_value(doc) {
            Ok(hardened) => *openapi = hardened,
            Err(err) => tracing::error!(%err, "the hardened OpenAPI document does not parse"),
        }
    }
}

/// Rust's `char::is_whitespace` (Unicode White_Space) as a regex class body: what
/// `str::trim` removes. (A regex `\s` differs at U+001C..U+001F.)
const WS: &str =
    r"\t\n\u000b\u000c\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// `char::is_control` (Unicode Cc) as a regex class body.
const CC: &str = r"\u0000-\u001f\u007f-\u009f";

/// A name: not only whitespace, no control characters.
pub fn name_pattern() -> String {
    format!("^[^{CC}]*[^{WS}{CC}][^{CC}]*$")
}

/// A message or note: not only whitespace, no control characters but tab and line breaks.
pub fn text_pattern() -> String {
    let c0 = r"\u0000-\u0008\u000b\u000c\u000e-\u001f";
    format!("^[^{c0}]*[^{WS}\\u0000-\\u001f][^{c0}]*$")
}

/// The statuses every operation of a kind may answer, with their meaning.
fn error_response(description: &str) -> Value {
    json!({"description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}})
}

const UNSAFE: [&str; 4] = ["post", "put", "patch", "delete"];

/// Applies every correction to a serialized document.
pub fn harden(doc: &mut Value) {
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, op) in item.iter_mut() {
                if let Some(op) = op.as_object_mut() {
                    harden_operation(path, method, op);
                }
            }
        }
    }
    constrain(doc);
}

fn harden_operation(path: &str, method: &str, op: &mut Map<String, Value>) {
    let authenticated = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    // Parameters documented in the path that are not in the path template are query parameters.
    let mut has_path_param = false;
    let mut has_params = false;
    if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
        for p in params.iter_mut() {
            has_params = true;
            let name = p["name"].as_str().unwrap_or_default().to_owned();
            if p["in"] == "path" {
                if path.contains(&format!("{{{name}}}")) {
                    has_path_param = true;
                } else {
                    p["in"] = json!("query");
                    p["required"] = json!(false);
                    // A query value is a string when present, never `null`.
                    if p["schema"]["type"].is_array() {
                        p["schema"]["type"] = json!("string");
                    }
                }
            }
        }
    }
    let json_body = op
        .get("requestBody")
        .and_then(|b| b.get("content"))
        .and_then(|c| c.get("application/json"))
        .is_some();
    let mut add = |status: &str, description: &str| {
        let responses = op
            .entry("responses")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("responses is an object");
        responses
            .entry(status)
            .or_insert_with(|| error_response(description));
    };
    if authenticated {
        add("400", "malformed request (path, query, header or body)");
        add("401", "missing, invalid, expired or revoked credentials");
        if UNSAFE.contains(&method) {
            add(
                "403",
                "the caller's role does not allow it, or a cookie session without `X-Requested-With: replyline`",
            );
        }
    }
    if has_params {
        add("400", "malformed request (path, query, header or body)");
    }
    if has_path_param {
        add("404", "no such resource, or not visible to the caller");
    }
    if json_body {
        add(
            "400",
            "malformed JSON, a wrong type or an unknown field (named in `field`)",
        );
        add("413", "request body too large");
        add("415", "the body is not `Content-Type: application/json`");
        add(
            "422",
            "a value fails validation (the field is named in `field`)",
        );
    }
}

/// Sets `keyword: value` on a property schema, keeping `null` allowed where it was.
fn set(doc: &mut Value, schema: &str, property: &str, constraints: Value) {
    let target = &mut doc["components"]["schemas"][schema]["properties"][property];
    assert!(
        target.is_object(),
        "OpenAPI hardening: no property {schema}.{property}"
    );
    let nullable = target["type"]
        .as_array()
        .is_some_and(|t| t.iter().any(|v| v == "null"));
    if let Value::Object(extra) = constraints {
        for (k, mut v) in extra {
            if k == "enum"
                && nullable
                && let Value::Array(values) = &mut v
            {
                values.push(Value::Null);
            }
            target[k] = v;
        }
    }
}

/// Replaces the schema of a `GET` operation's query parameter.
fn set_param(doc: &mut Value, path: &str, name: &str, schema: Value) {
    let params = doc["paths"][path]["get"]["parameters"]
        .as_array_mut()
        .unwrap_or_else(|| panic!("OpenAPI hardening: no parameters on GET {path}"));
    let p = params
        .iter_mut()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("OpenAPI hardening: no parameter {name} on GET {path}"));
    p["schema"] = schema;
}

/// The limits each body field is checked against (enums, lengths, patterns).
fn constrain(doc: &mut Value) {
    let name = json!({"minLength": 1, "maxLength": 200, "pattern": name_pattern()});
    let text = json!({"minLength": 1, "maxLength": crate::api::dto::MAX_TEXT_CHARS, "pattern": text_pattern()});
    let credential = json!({"minLength": 1, "maxLength": 4096, "pattern": name_pattern()});
    let url = json!({"maxLength": 2000, "pattern": format!("^https?://[^{WS}{CC}]*$")});
    let version = json!({"pattern": "^[A-Za-z0-9.]{1,20}$"});
    let routing = json!({"enum": crate::api::channels::ROUTING});
    let role = json!({"enum": ["admin", "manager", "employee"]});
    let email = json!({"maxLength": 254, "pattern": format!("^[^{CC}@]+@[^{CC}]+$")});
    let password = json!({"minLength": 8, "maxLength": 1024});
    let telegram = json!({"pattern": format!("^[^{WS}{CC}]{{1,64}}$")});

    set(
        doc,
        "NewChannelRequest",
        "kind",
        json!({"enum": ["whatsapp"]}),
    );
    // Required for the only kind there is.
    doc["components"]["schemas"]["NewChannelRequest"]["properties"]["whatsapp"] =
        json!({"$ref": "#/components/schemas/WhatsappInput"});
    if let Some(required) =
        doc["components"]["schemas"]["NewChannelRequest"]["required"].as_array_mut()
    {
        required.push(json!("whatsapp"));
    }
    set(doc, "NewChannelRequest", "name", name.clone());
    set(doc, "NewChannelRequest", "routing", routing.clone());
    set(doc, "PatchChannelRequest", "name", name.clone());
    set(doc, "PatchChannelRequest", "routing", routing);
    for schema in ["WhatsappInput", "WhatsappPatch"] {
        for field in [
            "phone_number_id",
            "access_token",
            "app_secret",
            "verify_token",
        ] {
            set(doc, schema, field, credential.clone());
        }
        set(doc, schema, "api_base_url", url.clone());
        set(doc, schema, "api_version", version.clone());
        set(
            doc,
            schema,
            "waba_id",
            json!({"pattern": r"^ *[0-9]{0,30} *$"}),
        );
        set(
            doc,
            schema,
            "messages_per_second",
            json!({"minimum": 1, "maximum": crate::channel::MAX_MESSAGES_PER_SECOND}),
        );
    }
    set(doc, "TextRequest", "text", text.clone());
    set(doc, "NoteRequest", "text", text.clone());
    set(doc, "AssignRequest", "comment", text.clone());
    set(
        doc,
        "LabelsRequest",
        "labels",
        json!({"maxItems": crate::api::conversations::inbox::MAX_LABELS,
            "items": {"type": "string", "maxLength": crate::api::conversations::inbox::MAX_LABEL_CHARS, "pattern": name_pattern()}}),
    );
    set(
        doc,
        "ConversationDto",
        "status_label",
        json!({"enum": ["queued", "in_progress", "closed"]}),
    );
    set(doc, "OpenConversationRequest", "text", text);
    set(
        doc,
        "OpenConversationRequest",
        "contact_address",
        json!({"pattern": r"^\+?[ ().-]*[1-9]([ ().-]*[0-9]){7,14}[ ().-]*$",
            "description": "The client's number in E.164: 8 to 15 digits with the country code, an optional leading `+`; spaces, dashes, dots and brackets are ignored."}),
    );
    let parameter = json!({"type": "string", "minLength": 1, "maxLength": 1024, "pattern": format!("^[^{CC}]*[^{WS}{CC}][^{CC}]*$")});
    set(
        doc,
        "TemplateRequest",
        "name",
        json!({"minLength": 1, "maxLength": 512, "pattern": name_pattern()}),
    );
    set(
        doc,
        "TemplateRequest",
        "language",
        json!({"minLength": 1, "maxLength": 512, "pattern": name_pattern()}),
    );
    set(
        doc,
        "TemplateRequest",
        "parameters",
        json!({"items": parameter}),
    );
    set(
        doc,
        "FileMessageForm",
        "text",
        json!({"maxLength": replyline_whatsapp::limits::MAX_CAPTION_CHARS}),
    );
    for schema in ["NewEmployeeRequest", "PatchEmployeeRequest"] {
        set(doc, schema, "name", name.clone());
        set(doc, schema, "display_name", name.clone());
        set(doc, schema, "email", email.clone());
        set(doc, schema, "role", role.clone());
        set(doc, schema, "password", password.clone());
        set(doc, schema, "telegram_chat_id", telegram.clone());
    }
    set(doc, "PatchMeRequest", "display_name", name.clone());
    set(doc, "PatchMeRequest", "password", password);
    // Trimmed, 1 to 200 characters.
    set(
        doc,
        "NewTokenRequest",
        "label",
        json!({"minLength": 1, "maxLength": 200, "pattern": format!("[^{WS}]")}),
    );
    set(doc, "NewGroupRequest", "name", name.clone());
    set(doc, "PatchGroupRequest", "name", name);
    set(
        doc,
        "AdvanceRequest",
        "seconds",
        // `ops::MAX_ADVANCE_SECONDS`: ten years.
        json!({"maximum": 10 * 366 * 24 * 3600}),
    );
    set(
        doc,
        "NewWebhookRequest",
        "url",
        json!({"maxLength": 2000,
            "pattern": format!("^[{WS}]*https?://[^/?#{WS}][^{WS}]*[{WS}]*$")}),
    );
    set(
        doc,
        "NewWebhookRequest",
        "secret",
        json!({"minLength": 8, "maxLength": 512}),
    );
    set(
        doc,
        "NewWebhookRequest",
        "events",
        json!({"minItems": 1, "items": {"type": "string", "enum": replyline_store::WEBHOOK_EVENTS}}),
    );
    set(
        doc,
        "PreferencesRequest",
        "language",
        json!({"enum": ["ru", "en"]}),
    );
    for end in ["start", "end"] {
        set(
            doc,
            "QuietHoursDto",
            end,
            json!({"pattern": "^([01]?[0-9]|2[0-3]):[0-5][0-9]$"}),
        );
    }
    set_param(
        doc,
        "/api/v1/conversations",
        "status",
        json!({"type": "string", "enum": ["open", "closed", ""]}),
    );
    set_param(
        doc,
        "/api/v1/conversations",
        "scope",
        json!({"type": "string", "enum": ["mine", "unassigned", "team", "observing", "all", ""]}),
    );
    set_param(
        doc,
        "/api/v1/notifications",
        "unread",
        json!({"type": "string", "enum": ["true", "false", "1", "0", ""]}),
    );
    constrain_workspace(doc);
    // `employee_id` names someone else's tokens: 404 when there is no such employee.
    for method in ["get", "post"] {
        doc["paths"]["/api/v1/tokens"][method]["responses"]
            .as_object_mut()
            .expect("/api/v1/tokens")
            .entry("404")
            .or_insert_with(|| error_response("no such employee"));
    }
    // Response enums.
    set(
        doc,
        "ConversationDto",
        "status",
        json!({"enum": ["open", "closed"]}),
    );
    set(doc, "EmployeeDto", "role", role);
    set(
        doc,
        "MessageDto",
        "direction",
        json!({"enum": ["in", "out"]}),
    );
}

/// The limits of contacts, search, quick replies and the audit log (docs/workspace.md).
fn constrain_workspace(doc: &mut Value) {
    let c0 = r"\u0000-\u0008\u000b\u000c\u000e-\u001f";
    let name = json!({"minLength": 1, "maxLength": 200, "pattern": name_pattern()});
    let title = json!({"minLength": 1, "maxLength": crate::api::quick_replies::MAX_TITLE_CHARS, "pattern": name_pattern()});
    let text = json!({"minLength": 1, "maxLength": crate::api::dto::MAX_TEXT_CHARS, "pattern": text_pattern()});
    set(doc, "PatchContactRequest", "name", name);
    set(
        doc,
        "PatchContactRequest",
        "note",
        json!({"maxLength": crate::api::dto::MAX_TEXT_CHARS, "pattern": format!("^[^{c0}]*$")}),
    );
    for schema in ["NewQuickReplyRequest", "PatchQuickReplyRequest"] {
        set(doc, schema, "title", title.clone());
        set(doc, schema, "text", text.clone());
    }
    let required = |doc: &mut Value, path: &str, name: &str| {
        if let Some(p) = doc["paths"][path]["get"]["parameters"]
            .as_array_mut()
            .and_then(|ps| ps.iter_mut().find(|p| p["name"] == name))
        {
            p["required"] = json!(true);
        }
    };
    set_param(
        doc,
        "/api/v1/search",
        "q",
        json!({"type": "string", "minLength": 1, "maxLength": crate::api::search::MAX_QUERY_CHARS, "pattern": format!("[^{WS}]")}),
    );
    required(doc, "/api/v1/search", "q");
    set_param(
        doc,
        "/api/v1/search",
        "limit",
        json!({"type": "string", "pattern": "^([1-9][0-9]?|100)?$"}),
    );
    set_param(
        doc,
        "/api/v1/audit",
        "limit",
        json!({"type": "string", "pattern": "^([1-9][0-9]?|1[0-9][0-9]|200)?$"}),
    );
    set_param(
        doc,
        "/api/v1/audit",
        "before",
        json!({"type": "string", "pattern": "^([1-9][0-9]{0,17})?$"}),
    );
    let render = "/api/v1/quick-replies/{id}/render";
    set_param(
        doc,
        render,
        "conversation_id",
        json!({"type": "string", "pattern": "^[0-9]{1,18}$"}),
    );
    required(doc, render, "conversation_id");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_hardened() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                for p in op["parameters"].as_array().into_iter().flatten() {
                    if p["in"] == "path" {
                        let name = p["name"].as_str().unwrap();
                        assert!(
                            path.contains(&format!("{{{name}}}")),
                            "{method} {path}: {name}"
                        );
                    }
                }
                if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                    for status in ["400", "401"] {
                        assert!(
                            op["responses"][status].is_object(),
                            "{method} {path}: {status}"
                        );
                    }
                }
                if op["requestBody"]["content"]["application/json"].is_object() {
                    for status in ["400", "413", "415", "422"] {
                        assert!(
                            op["responses"][status].is_object(),
                            "{method} {path}: {status}"
                        );
                    }
                }
            }
        }
        let unread = &doc["paths"]["/api/v1/notifications"]["get"]["parameters"][0];
        assert_eq!(unread["in"], "query", "{unread}");
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            schemas["NewEmployeeRequest"]["properties"]["role"]["enum"],
            json!(["admin", "manager", "employee"])
        );
        assert_eq!(
            schemas["PatchChannelRequest"]["properties"]["routing"]["enum"],
            json!(["manual", "round_robin", "sticky", null])
        );
        assert_eq!(
            schemas["TextRequest"]["properties"]["text"]["maxLength"],
            4096
        );
    }
}
