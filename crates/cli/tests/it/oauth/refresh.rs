//! Refresh tokens (RFC 6749 §6, RFC 9700 §4.14.2): rotation, the grace window for lost answers, replay
//! revoking the family, and scopes that can only narrow. Races between nodes are in `nodes.rs`.

use super::support::*;

#[tokio::test]
async fn refresh_rotates_and_a_retry_inside_the_grace_window_keeps_the_family_rfc9700_4_14_2() {
    let world = world().await;
    let first = tokens_for(&world, &world.confidential, "openid user:read").await;
    let old = first["refresh_token"].as_str().unwrap();
    let (status, second) = refresh(&world, old, None).await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(second["refresh_token"], first["refresh_token"], "rotated");
    assert!(second["id_token"].is_string());
    // The answer was lost; the client retries the old token 10 s later.
    world.server.clock.advance_secs(10);
    let (status, retry) = refresh(&world, old, None).await;
    assert_eq!(status, 200, "{retry}");
    let newest = retry["refresh_token"].as_str().unwrap();
    // The family lives on through the newest token; the superseded successor is dead.
    assert_eq!(api(&world, "/api/v2/users/me", retry["access_token"].as_str().unwrap()).await.0, 200);
    let (status, _) = refresh(&world, newest, None).await;
    assert_eq!(status, 200);
    let (status, _) = refresh(&world, second["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn refresh_replay_after_the_grace_window_revokes_the_whole_family_rfc9700_4_14_2() {
    let world = world().await;
    let first = tokens_for(&world, &world.confidential, "user:read").await;
    let old = first["refresh_token"].as_str().unwrap();
    let (_, second) = refresh(&world, old, None).await;
    let access = second["access_token"].as_str().unwrap();
    world.server.clock.advance_secs(31);
    let (status, body) = refresh(&world, old, None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    let (status, _) = refresh(&world, second["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(status, 400, "the family is revoked");
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 401, "its access tokens fail at once");
}

#[tokio::test]
async fn refresh_scope_can_only_narrow_and_the_new_refresh_token_keeps_the_original_rfc6749_6() {
    let world = world().await;
    let first = tokens_for(&world, &world.confidential, "user:read organizations:read").await;
    let token = first["refresh_token"].as_str().unwrap();
    let (status, body) = refresh(&world, token, Some("user:read teams:write")).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")));
    let (status, narrow) = refresh(&world, token, Some("user:read")).await;
    assert_eq!(status, 200, "{narrow}");
    assert_eq!(narrow["scope"], "user:read");
    // The rotated refresh token keeps the original scope (RFC 6749 §6).
    let (status, again) = refresh(&world, narrow["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(status, 200);
    assert_eq!(again["scope"], "organizations:read user:read");
}
