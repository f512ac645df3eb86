//! Issue 12: Make's roles and memberships, the catalogues with numeric ids, and a user's own account.

use gatehouse_domain::OrgRole;
use reqwest::Method;
use serde_json::json as object;

use crate::harness::{TestServer, assert_make_error, json};

const ALL: &[&str] = &["user:read", "user:write", "organizations:read", "organizations:write", "teams:read", "teams:write"];

/// The rule: what a token can do is its scopes *and* its owner's role where it acts. A team member
/// holding `teams:write` is refused a team change; the organization's owner, with the same scopes, is not.
#[tokio::test]
async fn a_team_member_with_teams_write_is_refused_a_team_change_and_the_owner_is_allowed() {
    let server = TestServer::start().await;
    let ada = server.user("ada@example.com", false).await;
    let bob = server.user("bob@example.com", false).await;
    let carol = server.user("carol@example.com", false).await;
    let org = server.org(&ada, "Acme").await;
    server.join(org, &bob, OrgRole::Member).await;
    server.join(org, &carol, OrgRole::Member).await;
    let team = server.team(org, "Ops").await;
    let owner = server.token(&ada, ALL).await;
    let member = server.token(&bob, ALL).await;
    let add_bob = format!("/api/v2/users/{}/user-team-roles/{team}", bob.id.0);
    let (status, body) = json(server.request(Method::POST, &add_bob, &owner).json(&object!({ "usersRoleId": 12 })).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["userTeamRole"], object!({ "userId": bob.id.0, "teamId": team.0, "usersRoleId": 12 }));

    // Bob, a Team Member, holds teams:write but not team:members:manage nor team:delete.
    let add_carol = format!("/api/v2/users/{}/user-team-roles/{team}", carol.id.0);
    let (status, body) = json(server.request(Method::POST, &add_carol, &member).json(&object!({ "usersRoleId": 12 })).send().await.unwrap()).await;
    assert_make_error(status, &body, 403, "SC403");
    assert!(body["detail"].as_str().unwrap().contains("team:members:manage"), "{body}");
    let delete = format!("/api/v2/teams/{team}?confirmed=true");
    let (status, body) = json(server.request(Method::DELETE, &delete, &member).send().await.unwrap()).await;
    assert_make_error(status, &body, 403, "SC403");
    // He may still read the team and its users.
    assert_eq!(server.get(&format!("/api/v2/teams/{team}"), &member).send().await.unwrap().status(), 200);
    assert_eq!(server.get(&format!("/api/v2/teams/{team}/user-team-roles"), &member).send().await.unwrap().status(), 200);

    // The owner is allowed both.
    let (status, body) = json(server.request(Method::POST, &add_carol, &owner).json(&object!({ "usersRoleId": 13 })).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = json(server.request(Method::DELETE, &delete, &owner).send().await.unwrap()).await;
    assert_eq!((status, &body["team"]), (200, &object!(team.0)), "{body}");

    // A scope is still needed beside the role: the owner's token without teams:write is refused first.
    let read_only = server.token(&ada, &["teams:read"]).await;
    let other_team = server.team(org, "Dev").await;
    let (status, body) = json(server.request(Method::DELETE, &format!("/api/v2/teams/{other_team}?confirmed=true"), &read_only).send().await.unwrap()).await;
    assert_make_error(status, &body, 401, "SC401");
}

#[tokio::test]
async fn organization_roles_are_set_listed_and_never_leave_an_organization_without_an_owner() {
    let server = TestServer::start().await;
    let ada = server.user("ada@example.com", false).await;
    let bob = server.user("bob@example.com", false).await;
    let org = server.org(&ada, "Acme").await;
    server.join(org, &bob, OrgRole::Member).await;
    let owner = server.token(&ada, ALL).await;
    let member = server.token(&bob, ALL).await;
    let ada_role = format!("/api/v2/users/{}/user-organization-roles/{org}", ada.id.0);
    let bob_role = format!("/api/v2/users/{}/user-organization-roles/{org}", bob.id.0);

    let (status, body) = json(server.request(Method::POST, &ada_role, &owner).json(&object!({ "usersRoleId": 2 })).send().await.unwrap()).await;
    assert_make_error(status, &body, 409, "SC409");
    let (status, body) = json(server.request(Method::POST, &bob_role, &member).json(&object!({ "usersRoleId": 2 })).send().await.unwrap()).await;
    assert_make_error(status, &body, 403, "SC403");
    let (status, body) = json(server.request(Method::POST, &bob_role, &owner).json(&object!({ "usersRoleId": 2 })).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["userOrganizationRole"]["usersRoleId"], 2);

    let (status, body) = json(server.get(&format!("/api/v2/organizations/{org}/user-organization-roles"), &member).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let roles: Vec<(i64, i64)> = body["userOrganizationRoles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|role| (role["userId"].as_i64().unwrap(), role["usersRoleId"].as_i64().unwrap()))
        .collect();
    assert_eq!(roles, vec![(ada.id.0, 1), (bob.id.0, 2)]);

    // Ownership moves by transfer; then Ada may leave.
    let transfer = format!("/api/v2/organizations/{org}/user-organization-roles/transfer");
    let (status, body) = json(server.request(Method::POST, &transfer, &member).json(&object!({ "userId": bob.id.0 })).send().await.unwrap()).await;
    assert_make_error(status, &body, 403, "SC403");
    let (status, body) = json(server.request(Method::POST, &transfer, &owner).json(&object!({ "userId": bob.id.0 })).send().await.unwrap()).await;
    assert_eq!((status, &body["userOrganizationRole"]["usersRoleId"]), (200, &object!(1)), "{body}");
    let (status, body) = json(server.request(Method::DELETE, &ada_role, &owner).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = json(server.get(&format!("/api/v2/organizations/{org}"), &owner).send().await.unwrap()).await;
    assert_make_error(status, &body, 404, "SC404");
}

#[tokio::test]
async fn an_invitation_is_accepted_by_the_invited_user_with_its_role() {
    let server = TestServer::start().await;
    let ada = server.user("ada@example.com", false).await;
    let bob = server.user("bob@example.com", false).await;
    let org = server.org(&ada, "Acme").await;
    let owner = server.token(&ada, ALL).await;
    let invitee = server.token(&bob, ALL).await;
    let (status, body) = json(
        server
            .request(Method::POST, &format!("/api/v2/organizations/{org}/invite"), &owner)
            .json(&object!({ "email": "Bob@Example.com", "usersRoleId": 4, "name": "Bob" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["invitation"]["email"], "bob@example.com");
    let (status, body) = json(server.get("/api/v2/users/me/invitations", &invitee).send().await.unwrap()).await;
    assert_eq!((status, body["invitations"][0]["organizationName"].as_str()), (200, Some("Acme")), "{body}");
    let accept = format!("/api/v2/organizations/{org}/accept-invitation");
    let (status, body) = json(server.request(Method::POST, &accept, &invitee).send().await.unwrap()).await;
    assert_eq!((status, &body["userOrganizationRole"]["usersRoleId"]), (200, &object!(4)), "{body}");
    let (status, body) = json(server.request(Method::POST, &accept, &invitee).send().await.unwrap()).await;
    assert_make_error(status, &body, 404, "SC404");
}

#[tokio::test]
async fn users_me_shows_roles_takes_catalogue_ids_and_patch_changes_only_what_it_names() {
    let server = TestServer::start().await;
    let ada = server.user("ada@example.com", false).await;
    let org = server.org(&ada, "Acme").await;
    let team = server.team(org, "Ops").await;
    server.state().app.add_team_member(team, ada.id).await.unwrap();
    let token = server.token(&ada, ALL).await;
    let (status, body) = json(server.get("/api/v2/users/me", &token).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let me = &body["authUser"];
    assert_eq!(me["userOrganizationRoles"], object!([{ "userId": ada.id.0, "organizationId": org.0, "usersRoleId": 1 }]));
    assert_eq!(me["userTeamRoles"], object!([{ "userId": ada.id.0, "teamId": team.0, "usersRoleId": 12 }]));
    assert!(me["timezoneId"].is_i64() && me["localeId"].is_i64(), "{me}");
    let (_, body) = json(server.get("/api/v2/users/me?cols[]=id&cols[]=userTeamRoles", &token).send().await.unwrap()).await;
    assert_eq!(body["authUser"].as_object().unwrap().keys().collect::<Vec<_>>(), ["id", "userTeamRoles"]);

    let (_, zones) = json(server.get("/api/v2/enums/timezones", &token).send().await.unwrap()).await;
    let prague = zones["timezones"].as_array().unwrap().iter().find(|zone| zone["code"] == "Europe/Prague").unwrap().clone();
    let (_, countries) = json(server.get("/api/v2/enums/countries", &token).send().await.unwrap()).await;
    let czechia = countries["countries"].as_array().unwrap().iter().find(|country| country["code2"] == "cz").unwrap().clone();
    assert_eq!(czechia["code"], "CZE");
    let (status, body) = json(
        server
            .request(Method::PATCH, "/api/v2/users/me", &token)
            .json(&object!({ "name": "Ada L.", "timezoneId": prague["id"], "countryId": czechia["id"], "localeId": 3, "language": "cs" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let me = &body["authUser"];
    assert_eq!((me["name"].as_str(), me["timezone"].as_str(), me["country"].as_str()), (Some("Ada L."), Some("Europe/Prague"), Some("CZ")));
    assert_eq!((&me["timezoneId"], &me["countryId"], &me["localeId"]), (&prague["id"], &czechia["id"], &object!(3)));
    for bad in [object!({ "timezoneId": 0 }), object!({ "countryId": 99999 }), object!({ "language": "xx" }), object!({ "email": "x@y.z" })] {
        let (status, body) = json(server.request(Method::PATCH, "/api/v2/users/me", &token).json(&bad).send().await.unwrap()).await;
        assert_make_error(status, &body, 400, "IM005");
    }
    let read_only = server.token(&ada, &["user:read"]).await;
    let (status, body) = json(server.request(Method::PATCH, "/api/v2/users/me", &read_only).json(&object!({ "name": "X" })).send().await.unwrap()).await;
    assert_make_error(status, &body, 401, "SC401");
}

#[tokio::test]
async fn organizations_keep_the_catalogue_ids_they_are_created_and_updated_with() {
    let server = TestServer::start().await;
    let admin = server.user("root@example.com", true).await;
    let token = server.token(&admin, ALL).await;
    let body = object!({ "name": "Acme", "regionId": 1, "timezoneId": 467, "countryId": 56 });
    let (status, created) = json(server.request(Method::POST, "/api/v2/organizations", &token).json(&body).send().await.unwrap()).await;
    assert_eq!(status, 200, "{created}");
    let org = &created["organization"];
    assert_eq!((&org["timezoneId"], &org["countryId"], &org["timezone"], &org["country"]), (&object!(467), &object!(56), &object!("Europe/Prague"), &object!("CZ")));
    let path = format!("/api/v2/organizations/{}", org["id"]);
    let (status, updated) = json(server.request(Method::PATCH, &path, &token).json(&object!({ "timezoneId": 171, "countryId": 233 })).send().await.unwrap()).await;
    assert_eq!(status, 200, "{updated}");
    let (_, read) = json(server.get(&path, &token).send().await.unwrap()).await;
    assert_eq!((&read["organization"]["timezoneId"], &read["organization"]["countryId"]), (&object!(171), &object!(233)));
    for bad in [object!({ "name": "X", "regionId": 99 }), object!({ "name": "X", "timezoneId": -1 }), object!({ "name": "X", "country": "Atlantis" })] {
        let (status, body) = json(server.request(Method::POST, "/api/v2/organizations", &token).json(&bad).send().await.unwrap()).await;
        assert_make_error(status, &body, 400, "IM005");
    }
}

#[tokio::test]
async fn deleting_ones_own_account_ends_every_credential_and_spares_no_organization_of_its_owner() {
    let server = TestServer::start().await;
    let ada = server.user("ada@example.com", false).await;
    let org = server.org(&ada, "Acme").await;
    let token = server.token(&ada, ALL).await;
    let other = server.token(&ada, &["user:read"]).await;
    let (status, body) = json(server.request(Method::DELETE, "/api/v2/users/me", &token).send().await.unwrap()).await;
    assert_make_error(status, &body, 400, "IM004");
    let (status, body) = json(server.request(Method::DELETE, "/api/v2/users/me?confirmed=true", &other).send().await.unwrap()).await;
    assert_make_error(status, &body, 401, "SC401");
    let (status, body) = json(server.request(Method::DELETE, "/api/v2/users/me?confirmed=true", &token).send().await.unwrap()).await;
    assert_make_error(status, &body, 409, "SC409");
    let (status, _) = json(server.request(Method::DELETE, &format!("/api/v2/organizations/{org}?confirmed=true"), &token).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let (status, body) = json(server.request(Method::DELETE, "/api/v2/users/me?confirmed=true", &token).send().await.unwrap()).await;
    assert_eq!((status, &body["user"]), (200, &object!(ada.id.0)), "{body}");
    for credential in [&token, &other] {
        let (status, body) = json(server.get("/api/v2/users/me", credential).send().await.unwrap()).await;
        assert_make_error(status, &body, 401, "SC401");
    }
}

#[tokio::test]
async fn the_role_catalogue_lists_built_in_and_the_organizations_custom_roles() {
    let server = TestServer::start().await;
    let ada = server.user("ada@example.com", false).await;
    let bob = server.user("bob@example.com", false).await;
    let org = server.org(&ada, "Acme").await;
    server.join(org, &bob, OrgRole::Member).await;
    let owner = server.token(&ada, ALL).await;
    let member = server.token(&bob, ALL).await;
    let (status, body) = json(server.get("/api/v2/users/roles?category=team&cols[]=id&cols[]=name", &owner).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = body["usersRoles"].as_array().unwrap().iter().map(|role| role["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Team Admin", "Team Member", "Team Monitoring", "Team Operator", "Team Restricted Member"]);
    let (_, body) = json(server.get("/api/v2/users/roles/permissions?roleCategory=team", &owner).send().await.unwrap()).await;
    assert!(body["usersRolesPermissions"].as_array().unwrap().iter().all(|permission| permission["roleCategory"] == "team"));

    let create = object!({ "name": "Viewer", "category": "team", "organizationId": org.0, "permissions": [201, 206] });
    let (status, body) = json(server.request(Method::POST, "/api/v2/users/custom-roles", &member).json(&create).send().await.unwrap()).await;
    assert_make_error(status, &body, 403, "SC403");
    let (status, body) = json(server.request(Method::POST, "/api/v2/users/custom-roles", &owner).json(&create).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let id = body["role"]["id"].as_i64().unwrap();
    assert_eq!(body["role"]["permissions"], object!([{ "id": 201, "name": "team:view" }, { "id": 206, "name": "team:scenarios:view" }]));
    let (_, body) = json(server.get(&format!("/api/v2/users/roles?organizationId={org}"), &member).send().await.unwrap()).await;
    assert!(body["usersRoles"].as_array().unwrap().iter().any(|role| role["id"] == id && role["managementType"] == "custom_managed"));
    let (status, body) = json(server.get(&format!("/api/v2/users/roles/{id}"), &owner).send().await.unwrap()).await;
    assert_eq!((status, &body["usersRole"]["organizationId"]), (200, &object!(org.0)));
    let outsider = server.user("eve@example.com", false).await;
    let eve = server.token(&outsider, ALL).await;
    let (status, body) = json(server.get(&format!("/api/v2/users/roles/{id}"), &eve).send().await.unwrap()).await;
    assert_make_error(status, &body, 404, "SC404");
    let path = format!("/api/v2/users/custom-roles/{id}");
    let (status, body) = json(server.request(Method::PATCH, &path, &owner).json(&object!({ "organizationId": org.0, "name": "Watcher", "description": null })).send().await.unwrap()).await;
    assert_eq!((status, &body["role"]["name"]), (200, &object!("Watcher")), "{body}");
    let (status, body) = json(server.request(Method::DELETE, &path, &owner).json(&object!({ "organizationId": org.0 })).send().await.unwrap()).await;
    assert_eq!((status, &body["roleId"]), (200, &object!(id)), "{body}");
}

/// An OAuth grant limited to the organization chosen at consent stays limited through the role routes:
/// the other organization the user belongs to is 404 on every side, and `/users/me` lists only the
/// chosen organization's role.
#[tokio::test]
async fn an_oauth_grant_limited_to_one_organization_reaches_no_other_through_roles() {
    use crate::oauth::support::{api, tokens_for, world};
    let world = world().await;
    let body = tokens_for(&world, &world.confidential, "user:read organizations:read teams:read").await;
    let access = body["access_token"].as_str().unwrap().to_string();
    let (status, me) = api(&world, "/api/v2/users/me", &access).await;
    assert_eq!(status, 200, "{me}");
    let orgs: Vec<i64> = me["authUser"]["userOrganizationRoles"].as_array().unwrap().iter().map(|r| r["organizationId"].as_i64().unwrap()).collect();
    assert_eq!(orgs, vec![world.org.0], "only the consented organization");
    for path in [
        format!("/api/v2/organizations/{}", world.other_org),
        format!("/api/v2/organizations/{}/user-organization-roles", world.other_org),
        format!("/api/v2/users/{}/user-organization-roles/{}", world.user.0, world.other_org),
        format!("/api/v2/users?organizationId={}", world.other_org),
        format!("/api/v2/users/roles?organizationId={}", world.other_org),
    ] {
        let (status, body) = api(&world, &path, &access).await;
        assert_make_error(status, &body, 404, "SC404");
    }
    let (status, body) = api(&world, &format!("/api/v2/organizations/{}/user-organization-roles", world.org), &access).await;
    assert_eq!(status, 200, "{body}");
}
