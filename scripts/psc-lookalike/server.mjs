// A Pro Santé Connect look-alike: a real OpenID Connect provider (panva's oidc-provider,
// OpenID-certified) configured the way PSC is (see shared/mssante/REFERENCE.md §4):
//   - Keycloak-style paths under /auth/realms/esante-wallet, discovery also served at the
//     non-standard /.well-known/wallet-openid-configuration;
//   - scope "openid scope_all", acr "eidas1" in the ID token, PKCE S256 required;
//   - userinfo answered as a signed JWT (application/jwt) carrying SubjectNameID,
//     SubjectRefPro.exercices[].activities[] and friends;
//   - access tokens live 2 minutes, refresh tokens 30 minutes.
// Its login page lets a tester pick one of the seeded professionals (no e-CPS involved).
// DEVELOPMENT AND TEST TOOL ONLY: it authenticates anyone who clicks.
//
// Configuration (environment):
//   PSC_PORT                       listen port on 127.0.0.1 (default 31080)
//   PSC_CLIENT_ID, PSC_CLIENT_SECRET  the webmail's client credentials
//   PSC_REDIRECT_URIS              comma-separated redirect URIs of the webmail
//   PSC_POST_LOGOUT_REDIRECT_URIS  comma-separated post-logout URIs
//   PSC_STATE_DIR                  where the signing keys are kept across restarts
//   PSC_TEST_FAULTS=1              enables POST /_test/faults (tests only): make the provider
//                                  misbehave on purpose (tampered userinfo, wrong nonce)
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const here = path.dirname(fileURLToPath(import.meta.url));
const identities = JSON.parse(
  fs.readFileSync(path.join(here, '..', '..', 'webmail', 'demo', 'identities.json'), 'utf8'),
);

const port = Number(process.env.PSC_PORT || 31080);
const issuer = `http://127.0.0.1:${port}/auth/realms/esante-wallet`;
const prefix = new URL(issuer).pathname;
const list = (value) => (value || '').split(',').map((s) => s.trim()).filter(Boolean);
const stateDir = process.env.PSC_STATE_DIR || path.join(here, 'var');
const clientSecret = process.env.PSC_CLIENT_SECRET;
if (!clientSecret) {
  console.error('PSC_CLIENT_SECRET is required');
  process.exit(2);
}

async function signingKeys() {
  const file = path.join(stateDir, 'jwks.json');
  const algs = ['RS256', 'ES256'];
  if (fs.existsSync(file)) {
    const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (algs.every((alg) => saved.keys.some((key) => key.alg === alg))) return saved;
  }
  const keys = [];
  for (const alg of algs) {
    const { privateKey } = await jose.generateKeyPair(alg, { extractable: true });
    keys.push({ ...(await jose.exportJWK(privateKey)), kid: crypto.randomUUID(), alg, use: 'sig' });
  }
  fs.mkdirSync(stateDir, { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ keys }), { mode: 0o600 });
  return { keys };
}

const structures = Object.fromEntries(identities.structures.map((s) => [s.key, s]));
const professionals = Object.fromEntries(identities.professionals.map((p) => [p.sub, p]));

// The claims PSC returns for scope_all, shaped like ANS's UserInfos/SubjectRefPro model.
function claimsFor(person) {
  const structure = structures[person.structure];
  const activity = {
    codeModeExercice: structure.kind === 'practice' ? 'L' : 'S',
    codeSecteurDactivite: structure.kind === 'pharmacy' ? 'SA07' : 'SA01',
    codeRole: '',
    numeroSiretSite: structure.siret,
    numeroSirenSite: structure.siret.slice(0, 9),
    numeroFinessSite: structure.finess,
    numeroFinessetablissementJuridique: '',
    identifiantTechniqueDeLaStructure: `R10100000${structure.siret.slice(-5)}`,
    raisonSocialeSite: structure.name,
    enseigneCommercialeSite: '',
    codePostal: '75001',
    codeCommune: '75101',
    codePays: '99000',
  };
  const exercice = {
    codeProfession: person.codeProfession,
    codeCategorieProfessionnelle: 'C',
    codeCiviliteDexercice: person.codeCivilite === 'MME' ? 'DR' : 'DR',
    nomDexercice: person.family_name,
    prenomDexercice: person.given_name,
    codeSavoirFaire: person.codeSavoirFaire,
    codeTypeSavoirFaire: person.codeSavoirFaire ? 'S' : '',
    activities: [activity],
  };
  return {
    sub: person.sub,
    SubjectNameID: person.SubjectNameID,
    preferred_username: person.SubjectNameID,
    given_name: person.given_name,
    family_name: person.family_name,
    email: person.mailbox,
    email_verified: true,
    codeCivilite: person.codeCivilite,
    otherIds: [{ identifiant: person.SubjectNameID.slice(1), origine: 'RPPS', qualite: 1 }],
    SubjectOrganization: structure.name,
    SubjectOrganizationID: structure.finess || structure.siret,
    SubjectRole: [`${person.codeProfession}^1.2.250.1.213.1.1.5.5`],
    SubjectRefPro: { codeCivilite: person.codeCivilite, exercices: [exercice] },
  };
}

const scopeAllClaims = [
  'SubjectNameID', 'preferred_username', 'given_name', 'family_name', 'email', 'email_verified',
  'codeCivilite', 'otherIds', 'SubjectOrganization', 'SubjectOrganizationID', 'SubjectRole',
  'SubjectRefPro',
];

// PSC may sign with RS256/ES256 keys or HS256 and the client secret, and may answer userinfo
// as JSON or as a JWT: one client per variant (CLIENT_ID, CLIENT_ID-es256, -hs256, -json).
const clientId = process.env.PSC_CLIENT_ID || 'webmail-mssante';
const variants = { '': 'RS256', '-es256': 'ES256', '-hs256': 'HS256', '-json': 'RS256' };
const clients = Object.entries(variants).map(([suffix, alg]) => ({
  client_id: clientId + suffix,
  client_secret: clientSecret,
  redirect_uris: list(process.env.PSC_REDIRECT_URIS),
  post_logout_redirect_uris: list(process.env.PSC_POST_LOGOUT_REDIRECT_URIS),
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  id_token_signed_response_alg: alg,
  ...(suffix === '-json' ? {} : { userinfo_signed_response_alg: alg }),
}));

// Deliberate misbehaviour for the tests (PSC_TEST_FAULTS=1 only).
const faults = { userinfo: '', nonce: '' };
const faultsEnabled = process.env.PSC_TEST_FAULTS === '1';

const configuration = {
  clients,
  jwks: await signingKeys(),
  enabledJWA: {
    idTokenSigningAlgValues: ['RS256', 'ES256', 'HS256'],
    userinfoSigningAlgValues: ['RS256', 'ES256', 'HS256'],
  },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  scopes: ['openid', 'scope_all'],
  claims: { openid: ['sub'], scope_all: scopeAllClaims },
  acrValues: ['eidas1'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    jwtUserinfo: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.body = page('Déconnexion', `${form}
          <p>Vous allez être déconnecté(e) de Pro Santé Connect.</p>
          <button type="submit" form="op.logoutForm" name="logout" value="yes">Se déconnecter</button>
          <script>document.forms['op.logoutForm'].requestSubmit?.(document.querySelector('button'));</script>`);
      },
    },
  },
  // PSC lifetimes (REFERENCE.md §4): access token 2 min, refresh token 30 min, session 4 h.
  ttl: {
    AccessToken: 120,
    AuthorizationCode: 60,
    IdToken: 120,
    RefreshToken: 1800,
    Interaction: 600,
    Session: 4 * 3600,
    Grant: 4 * 3600,
  },
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  // The operator's view of who may open which mailbox (Dovecot's oauth2 passdb reads it by
  // introspection): here, a professional's own mailbox only.
  extraTokenClaims: async (_ctx, token) => (
    token.kind === 'AccessToken' ? { email: professionals[token.accountId]?.mailbox } : undefined
  ),
  findAccount: async (_ctx, id) => {
    const person = professionals[id];
    if (!person) return undefined;
    return { accountId: id, claims: async () => claimsFor(person) };
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  routes: {
    authorization: '/protocol/openid-connect/auth',
    token: '/protocol/openid-connect/token',
    userinfo: '/protocol/openid-connect/userinfo',
    jwks: '/protocol/openid-connect/certs',
    end_session: '/protocol/openid-connect/logout',
    introspection: '/protocol/openid-connect/token/introspect',
    revocation: '/protocol/openid-connect/revoke',
  },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = page('Erreur', `<p>${escape(out.error)}: ${escape(out.error_description || '')}</p>`);
  },
};

const provider = new Provider(issuer, configuration);
provider.proxy = false;
provider.use(async (ctx, next) => {
  await next();
  if (faults.userinfo === 'tamper' && ctx.oidc?.route === 'userinfo' && typeof ctx.body === 'string') {
    // Another professional's identity under the original signature: must be refused.
    const [header, payload, signature] = ctx.body.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    claims.SubjectNameID = identities.professionals.at(-1).SubjectNameID;
    ctx.body = [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
  }
});
const callback = provider.callback();

async function setFaults(req, res) {
  const form = JSON.parse((await readBody(req)) || '{}');
  faults.userinfo = form.userinfo || '';
  faults.nonce = form.nonce || '';
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(faults));
}

function escape(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>${escape(title)} — Pro Santé Connect (simulation)</title>
<style>body{font-family:sans-serif;max-width:40rem;margin:2rem auto}label{display:block;margin:.5rem 0}</style></head>
<body><h1>Pro Santé Connect <small>(simulation locale)</small></h1>${body}</body></html>`;
}

function loginPage(uid) {
  const choices = identities.professionals.map((p, i) => `
    <label><input type="radio" name="account" value="${escape(p.sub)}" ${i === 0 ? 'checked' : ''}>
      ${escape(p.given_name)} ${escape(p.family_name)} — ${escape(p.profession)}
      (${escape(structures[p.structure].name)}, ${escape(p.SubjectNameID)})</label>`).join('');
  return page('Connexion', `
    <p>Outil de développement : choisissez le professionnel dont vous simulez la carte e-CPS.</p>
    <form method="post" action="/interaction/${escape(uid)}/login">
      ${choices}
      <label>Niveau d'authentification (acr)
        <select name="acr"><option value="eidas1">eidas1</option><option value="eidas0">eidas0 (test d'échec)</option></select>
      </label>
      <button type="submit">Se connecter avec e-CPS</button>
    </form>`);
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function readForm(req) {
  return new URLSearchParams(await readBody(req));
}

async function interaction(req, res, url) {
  const details = await provider.interactionDetails(req, res);
  const uid = details.uid;
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(loginPage(uid));
    return;
  }
  if (req.method === 'POST' && url.pathname.endsWith('/login')) {
    const form = await readForm(req);
    const accountId = form.get('account');
    if (!professionals[accountId]) {
      res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page('Erreur', '<p>Identité inconnue.</p>'));
      return;
    }
    const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    const grantId = await grant.save();
    const acr = form.get('acr') === 'eidas0' ? 'eidas0' : 'eidas1';
    await provider.interactionFinished(req, res, {
      login: { accountId, acr, amr: ['mfa'] },
      consent: { grantId },
    }, { mergeWithLastSubmission: false });
    return;
  }
  res.writeHead(405);
  res.end();
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, issuer);
  try {
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
    } else if (url.pathname === '/_test/faults' && faultsEnabled && req.method === 'POST') {
      await setFaults(req, res);
    } else if (url.pathname.startsWith('/interaction/')) {
      await interaction(req, res, url);
    } else if (url.pathname.startsWith(prefix)) {
      // PSC publishes its discovery document under a non-standard name.
      if (url.pathname === `${prefix}/.well-known/wallet-openid-configuration`) {
        req.url = `${prefix}/.well-known/openid-configuration${url.search}`;
      }
      if (faults.nonce && url.pathname === `${prefix}/protocol/openid-connect/auth`) {
        url.searchParams.set('nonce', 'not-the-nonce-you-sent');
        req.url = url.pathname + url.search;
      }
      // Mounted under the issuer's path: oidc-provider derives the mount from originalUrl.
      req.originalUrl = req.url;
      req.url = req.url.slice(prefix.length) || '/';
      callback(req, res);
    } else {
      res.writeHead(404);
      res.end();
    }
  } catch (err) {
    console.error('interaction error:', err.name, err.message);
    res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page('Erreur', `<p>${escape(err.message)}</p>`));
  }
});

server.listen(port, '127.0.0.1', () => {
  console.log(`PSC look-alike listening, issuer ${issuer}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
