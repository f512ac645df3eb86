// OAuth 2.0 / OpenID Connect helpers for the interoperability suite.
//
// - createClient(): registers an approved client with the real CLI (`gatehouse client create`).
// - discover(): openid-client's own discovery, with plain http allowed (loopback only).
// - authorize(): drives the authorization endpoint the way a browser would, without one: GET the authorize
//   URL, post the login form, post the consent form, follow 302/303 by hand with a cookie jar, and stop at
//   the first `Location` that starts with the client's redirect URI. Nothing listens on the redirect URI;
//   the callback URL is handed to openid-client's authorizationCodeGrant().
//
// The HTML "parser" is deliberately small but tolerant: it reads <form action method>, <input type name
// value>, <select name><option value selected>, and <button name value>, with quoted, single-quoted or bare
// attribute values and HTML entities decoded.

import * as oidc from 'openid-client';

// ---------------------------------------------------------------------------------------------------------
// Clients

/**
 * `gatehouse client create ... --json` → {client_id, client_secret} (secret null for public clients).
 * `gh` is a running server from startGatehouse(); the CLI writes to the same database.
 */
export async function createClient(gh, { name, type, redirectUris, scopes, owner = gh.admin.email }) {
    const args = ['client', 'create', '--owner', owner, '--name', name, '--type', type];
    for (const uri of redirectUris) args.push('--redirect-uri', uri);
    for (const scope of scopes) args.push('--scope', scope);
    const out = await gh.cli(args, { json: true });
    if (!out || typeof out.client_id !== 'string' || out.client_id.length === 0) {
        throw new Error(`gatehouse client create printed no client_id: ${JSON.stringify(out)}`);
    }
    if (type === 'confidential' && (typeof out.client_secret !== 'string' || out.client_secret.length === 0)) {
        throw new Error(`a confidential client got no client_secret: ${JSON.stringify(out)}`);
    }
    if (type === 'public' && out.client_secret !== null) {
        throw new Error(`a public client got a client_secret: ${JSON.stringify(out)}`);
    }
    return out;
}

/**
 * openid-client discovery against `issuer` (a string, used byte for byte), for plain http on loopback.
 * `clientAuth` is one of oidc.ClientSecretPost(secret), oidc.ClientSecretBasic(secret), oidc.None().
 * `onRequest(url, init)` sees every request openid-client makes with this configuration afterwards.
 */
export async function discover(issuer, clientId, clientAuth, { onRequest } = {}) {
    const config = await oidc.discovery(new URL(issuer), clientId, undefined, clientAuth, {
        execute: [oidc.allowInsecureRequests],
        timeout: 10,
    });
    if (onRequest) {
        config[oidc.customFetch] = (url, init) => {
            onRequest(url, init);
            return fetch(url, init);
        };
    }
    return config;
}

// ---------------------------------------------------------------------------------------------------------
// A minimal cookie jar (one host: the issuer)

export class CookieJar {
    #cookies = new Map(); // name -> {value, path}

    /** Takes every Set-Cookie of `response` (fetch Response). */
    store(response) {
        const lines = typeof response.headers.getSetCookie === 'function' ? response.headers.getSetCookie() : [];
        for (const line of lines) this.storeLine(line);
    }

    storeLine(line) {
        const [pair, ...attributes] = line.split(';');
        const eq = pair.indexOf('=');
        if (eq <= 0) return;
        const name = pair.slice(0, eq).trim();
        const value = pair.slice(eq + 1).trim();
        let path = '/';
        let expired = false;
        for (const attribute of attributes) {
            const [rawKey, ...rest] = attribute.split('=');
            const key = rawKey.trim().toLowerCase();
            const val = rest.join('=').trim();
            if (key === 'path' && val.startsWith('/')) path = val;
            if (key === 'max-age' && Number(val) <= 0) expired = true;
            if (key === 'expires' && Date.parse(val) <= Date.now()) expired = true;
        }
        if (expired) this.#cookies.delete(name);
        else this.#cookies.set(name, { value, path });
    }

    /** The Cookie header for a request to `url` (path matched loosely: prefix), or undefined. */
    header(url) {
        const pathname = new URL(url).pathname;
        const pairs = [];
        for (const [name, { value, path }] of this.#cookies) {
            if (pathname.startsWith(path) || path === '/') pairs.push(`${name}=${value}`);
        }
        return pairs.length ? pairs.join('; ') : undefined;
    }

    get size() {
        return this.#cookies.size;
    }

    names() {
        return [...this.#cookies.keys()];
    }
}

// ---------------------------------------------------------------------------------------------------------
// HTML forms

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', '#39': "'" };

export function decodeEntities(text) {
    return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+[0-9]*);/gi, (whole, body) => {
        const lower = body.toLowerCase();
        if (lower.startsWith('#x')) return String.fromCodePoint(parseInt(lower.slice(2), 16));
        if (lower.startsWith('#')) return String.fromCodePoint(parseInt(lower.slice(1), 10));
        return ENTITIES[lower] ?? whole;
    });
}

/** Attributes of one start tag's inner text (`<input a="1" b='2' c=3 d>` → {a:'1', b:'2', c:'3', d:''}). */
export function parseAttributes(text) {
    const attributes = {};
    const re = /([^\s"'<>\/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
    let match;
    while ((match = re.exec(text))) {
        const name = match[1].toLowerCase();
        if (name in attributes) continue; // HTML: the first one wins
        attributes[name] = decodeEntities(match[2] ?? match[3] ?? match[4] ?? '');
    }
    return attributes;
}

function stripTags(html) {
    return decodeEntities(html.replace(/<script[\s\S]*?<\/script>|<style[\s\S]*?<\/style>/gi, '').replace(/<[^>]*>/g, ' '))
        .replace(/\s+/g, ' ')
        .trim();
}

/**
 * Every <form> of `html`: {action, method, inputs: [{type,name,value}], selects: [{name, options:
 * [{value, selected, label}]}], buttons: [{name, value, type}]}.
 */
export function parseForms(html) {
    const withoutComments = html.replace(/<!--[\s\S]*?-->/g, '');
    const forms = [];
    const formRe = /<form\b([^>]*)>([\s\S]*?)(?:<\/form\s*>|$)/gi;
    let formMatch;
    while ((formMatch = formRe.exec(withoutComments))) {
        const attributes = parseAttributes(formMatch[1]);
        const body = formMatch[2];
        const inputs = [];
        for (const m of body.matchAll(/<input\b([^>]*)>/gi)) {
            const a = parseAttributes(m[1]);
            inputs.push({ type: (a.type ?? 'text').toLowerCase(), name: a.name, value: a.value ?? '', checked: 'checked' in a });
        }
        const selects = [];
        for (const m of body.matchAll(/<select\b([^>]*)>([\s\S]*?)<\/select\s*>/gi)) {
            const a = parseAttributes(m[1]);
            const options = [];
            for (const o of m[2].matchAll(/<option\b([^>]*)>([\s\S]*?)(?=<option\b|<\/option\s*>|<\/optgroup|$)/gi)) {
                const oa = parseAttributes(o[1]);
                const label = stripTags(o[2]);
                options.push({ value: 'value' in oa ? oa.value : label, selected: 'selected' in oa, label });
            }
            selects.push({ name: a.name, options });
        }
        const buttons = [];
        for (const m of body.matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button\s*>/gi)) {
            const a = parseAttributes(m[1]);
            buttons.push({ type: (a.type ?? 'submit').toLowerCase(), name: a.name, value: a.value ?? '', label: stripTags(m[2]) });
        }
        for (const input of inputs) {
            if (input.type === 'submit') buttons.push({ type: 'submit', name: input.name, value: input.value, label: input.value });
        }
        forms.push({
            action: attributes.action ?? '',
            method: (attributes.method ?? 'get').toLowerCase(),
            inputs,
            selects,
            buttons,
        });
    }
    return forms;
}

/** The form's successful controls other than submit buttons: hidden and text inputs, checked boxes, selects. */
function baseFields(form) {
    const fields = new URLSearchParams();
    for (const input of form.inputs) {
        if (!input.name) continue;
        if (['submit', 'button', 'image', 'reset', 'file'].includes(input.type)) continue;
        if ((input.type === 'checkbox' || input.type === 'radio') && !input.checked) continue;
        fields.append(input.name, input.value);
    }
    for (const select of form.selects) {
        if (!select.name || select.options.length === 0) continue;
        const chosen = select.options.find((o) => o.selected) ?? select.options[0];
        fields.append(select.name, chosen.value);
    }
    return fields;
}

function setField(fields, name, value) {
    fields.delete(name);
    fields.append(name, value);
}

// ---------------------------------------------------------------------------------------------------------
// The authorization endpoint, driven by hand

const MAX_HOPS = 12;

/**
 * Random state, nonce (when `openid` is asked for) and PKCE S256 pair, and the authorize URL openid-client
 * builds for them. `scope` is sent as given (space- or comma-separated).
 */
export async function prepareAuthorization(config, { redirectUri, scope, extra = {}, nonce = true }) {
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const codeChallenge = await oidc.calculatePKCECodeChallenge(codeVerifier);
    const state = oidc.randomState();
    const params = {
        redirect_uri: redirectUri,
        scope,
        state,
        code_challenge: codeChallenge,
        code_challenge_method: 'S256',
        ...extra,
    };
    let expectedNonce;
    if (nonce) {
        expectedNonce = oidc.randomNonce();
        params.nonce = expectedNonce;
    }
    const url = oidc.buildAuthorizationUrl(config, params);
    return { url, codeVerifier, codeChallenge, state, nonce: expectedNonce, redirectUri };
}

/**
 * Follows the authorization endpoint from `authorizeUrl` to the redirect back to `redirectUri`, posting the
 * login form (`email`, `password`) and the consent form (`organizationId`, `decision`) on the way.
 *
 * Resolves to {callbackUrl (URL), pages: ['login'|'consent', ...], hops: [{method, url, status}],
 * organizations: the consent page's organizationId options, jar}.
 * Rejects with the page text when a page is neither form, or the redirect never comes.
 */
export async function runAuthorization(
    authorizeUrl,
    { redirectUri, email, password, organizationId, decision = 'allow', jar = new CookieJar() },
) {
    const pages = [];
    const hops = [];
    let organizations;
    let request = { method: 'GET', url: new URL(authorizeUrl) };
    for (let hop = 0; hop < MAX_HOPS; hop++) {
        const headers = { accept: 'text/html,application/xhtml+xml', 'user-agent': 'gatehouse-interop (openid-client)' };
        const cookie = jar.header(request.url);
        if (cookie) headers.cookie = cookie;
        let body;
        if (request.method === 'POST') {
            body = request.body.toString();
            headers['content-type'] = 'application/x-www-form-urlencoded';
            // What a browser adds to a same-origin form post.
            headers.origin = request.url.origin;
            headers['sec-fetch-site'] = 'same-origin';
            if (request.referer) headers.referer = request.referer;
        }
        const response = await fetch(request.url, { method: request.method, headers, body, redirect: 'manual' });
        jar.store(response);
        hops.push({ method: request.method, url: request.url.href, status: response.status });

        if ([301, 302, 303, 307, 308].includes(response.status)) {
            const location = response.headers.get('location');
            await response.arrayBuffer();
            if (!location) throw new Error(`${response.status} without Location from ${request.url}`);
            if (location.startsWith(redirectUri)) {
                return { callbackUrl: new URL(location), pages, hops, organizations, jar };
            }
            const next = new URL(location, request.url);
            if (next.origin !== request.url.origin) {
                throw new Error(`redirected off the issuer to ${location} (expected ${redirectUri}...)`);
            }
            // 307/308 would repeat a POST; the authorization endpoint only uses 302/303 after a post.
            request =
                (response.status === 307 || response.status === 308) && request.method === 'POST'
                    ? { ...request, url: next }
                    : { method: 'GET', url: next };
            continue;
        }

        const html = await response.text();
        const contentType = response.headers.get('content-type') ?? '';
        if (!/text\/html/i.test(contentType)) {
            throw new Error(`${request.method} ${request.url} answered ${response.status} ${contentType}: ${html.slice(0, 500)}`);
        }
        const forms = parseForms(html).filter((f) => f.method === 'post');
        const login = forms.find((f) => f.inputs.some((i) => i.name === 'password'));
        const consent = forms.find((f) => f.buttons.some((b) => b.name === 'decision'));
        if (login && !consent) {
            if (pages.includes('login') && pages.at(-1) === 'login') {
                throw new Error(`the login form came back after posting it (${response.status}): ${stripTags(html).slice(0, 500)}`);
            }
            pages.push('login');
            const fields = baseFields(login);
            setField(fields, 'email', email);
            setField(fields, 'password', password);
            request = { method: 'POST', url: new URL(login.action || request.url.href, request.url), body: fields, referer: request.url.href };
            continue;
        }
        if (consent) {
            if (pages.at(-1) === 'consent') {
                throw new Error(`the consent form came back after posting it (${response.status}): ${stripTags(html).slice(0, 500)}`);
            }
            pages.push('consent');
            const fields = baseFields(consent);
            const select = consent.selects.find((s) => s.name === 'organizationId');
            organizations = select ? select.options.map((o) => o.value) : [];
            if (organizationId !== undefined) {
                if (!select) throw new Error(`the consent page has no <select name="organizationId">: ${stripTags(html).slice(0, 500)}`);
                if (!organizations.includes(String(organizationId))) {
                    throw new Error(`organization ${organizationId} is not offered on the consent page (${organizations.join(', ')})`);
                }
                setField(fields, 'organizationId', String(organizationId));
            }
            const button = consent.buttons.find((b) => b.name === 'decision' && b.value === decision);
            if (!button) {
                throw new Error(`the consent form has no decision=${decision} button: ${JSON.stringify(consent.buttons)}`);
            }
            setField(fields, 'decision', decision);
            request = { method: 'POST', url: new URL(consent.action || request.url.href, request.url), body: fields, referer: request.url.href };
            continue;
        }
        throw new Error(
            `${request.method} ${request.url} answered ${response.status} with neither a login nor a consent form: ` +
                stripTags(html).slice(0, 800),
        );
    }
    throw new Error(`no redirect to ${redirectUri} after ${MAX_HOPS} hops: ${JSON.stringify(hops)}`);
}

/**
 * prepareAuthorization() + runAuthorization(): resolves to the callback and every check
 * authorizationCodeGrant() needs ({callbackUrl, codeVerifier, state, nonce, pages, ...}).
 */
export async function authorize(config, options) {
    const prepared = await prepareAuthorization(config, options);
    const run = await runAuthorization(prepared.url, options);
    return { ...prepared, ...run };
}

/** authorize() then authorizationCodeGrant() with PKCE, state and nonce checks. */
export async function codeFlow(config, options) {
    const flow = await authorize(config, options);
    const tokens = await oidc.authorizationCodeGrant(config, flow.callbackUrl, {
        pkceCodeVerifier: flow.codeVerifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: options.scope.split(/[\s,]+/).includes('openid'),
    });
    return { ...flow, tokens };
}

// ---------------------------------------------------------------------------------------------------------
// JWTs

const b64url = (text) => Buffer.from(text, 'base64url');

/** Header and payload of a compact JWS, without verifying it. */
export function decodeJwt(jwt) {
    const parts = String(jwt).split('.');
    if (parts.length !== 3) throw new Error(`not a compact JWS (${parts.length} parts): ${String(jwt).slice(0, 40)}...`);
    return {
        header: JSON.parse(b64url(parts[0]).toString('utf8')),
        payload: JSON.parse(b64url(parts[1]).toString('utf8')),
        signingInput: `${parts[0]}.${parts[1]}`,
        signature: b64url(parts[2]),
    };
}
