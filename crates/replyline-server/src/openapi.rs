//! The OpenAPI document, generated from the handlers' annotations.

use crate::api::{channels, conversations, dto, employees, ops, session, tokens};
use crate::{error, ingest};
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
    modifiers(&Bearer),
    paths(
        session::login, session::logout, session::me, session::update_me,
        tokens::list, tokens::create, tokens::revoke,
        channels::read_members, channels::write_members, session::notifications, session::read_notification,
        employees::list, employees::create, employees::read, employees::update, employees::deactivate,
        channels::list, channels::create, channels::read, channels::update, channels::remove,
        channels::read_settings, channels::write_settings,
        conversations::list, conversations::open, conversations::read, conversations::messages, conversations::send,
        conversations::note, conversations::assign, conversations::close, conversations::events,
        ops::advance_clock, ops::healthz, ops::metrics, ops::openapi,
        crate::api::preferences::read_own, crate::api::preferences::write_own,
        crate::api::preferences::read_any, crate::api::preferences::write_any,
        crate::api::webhooks::list, crate::api::webhooks::create, crate::api::webhooks::read,
        crate::api::webhooks::remove, crate::api::webhooks::deliveries,
        crate::api::routing::list_groups, crate::api::routing::read_group, crate::api::routing::create_group,
        crate::api::routing::update_group, crate::api::routing::delete_group,
        crate::api::routing::list_rules, crate::api::routing::replace_rules,
        crate::api::inbox::list, crate::api::inbox::retry,
        ingest::whatsapp_handshake, ingest::whatsapp_post,
        crate::live::events_ws,
    ),
    components(schemas(
        error::ErrorBody, error::ErrorDetail,
        session::PatchMeRequest, tokens::TokenDto, tokens::NewTokenRequest, tokens::NewTokenResponse, channels::ChannelMembers,
        dto::EmployeeDto, dto::LoginRequest, dto::LoginResponse, dto::NewEmployeeRequest, dto::PatchEmployeeRequest,
        dto::WhatsappInput, dto::WhatsappPatch, dto::NewChannelRequest, dto::PatchChannelRequest, dto::WhatsappPublic, dto::ChannelDto,
        dto::ContactDto, dto::ConversationDto, dto::MessageDto, dto::EventDto, dto::NotificationDto,
        crate::api::preferences::PreferencesDto, crate::api::preferences::PreferencesRequest, crate::api::preferences::QuietHoursDto,
        crate::api::webhooks::WebhookDto, crate::api::webhooks::NewWebhookRequest, crate::api::webhooks::DeliveryDto,
        crate::api::routing::GroupDto, crate::api::routing::NewGroupRequest, crate::api::routing::PatchGroupRequest,
        crate::api::routing::RoutingRuleDto, crate::api::routing::RoutingRuleRequest,
        crate::api::inbox::FailedInboxDto,
        dto::TextRequest, dto::OpenConversationRequest, dto::AssignRequest, dto::AdvanceRequest, dto::NowResponse, dto::HealthResponse,
    ))
)]
pub struct ApiDoc;
