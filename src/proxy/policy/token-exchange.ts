/**
 * RFC 8693 token exchange for `backend.auth.oauthTokenExchange`: the caller's validated token is
 * exchanged at the authorization server for a token meant for the upstream, so each user reaches
 * the upstream with a credential of their own and the client's token never leaves the gateway.
 * Exchanged tokens are kept (by the SHA-256 of the caller's token and the exchange) until shortly
 * before they expire; concurrent requests with the same token share one exchange.
 */
import { createHash } from 'node:crypto';
import type { TokenExchange } from '../../shared/table.js';

export type Exchanged =
  | { readonly ok: true; readonly token: string }
  | { readonly ok: false; readonly message: string };

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
/** Kept tokens are dropped this long before they expire, so an upstream never sees an expired one. */
const EARLY_MS = 30_000;
const DEFAULT_LIFETIME_MS = 5 * 60_000;
const MAX_RESPONSE_BYTES = 64 * 1024;

interface Kept {
  readonly token: string;
  readonly until: number;
}

export interface TokenExchangerOptions {
  readonly now?: () => number;
  readonly timeoutMs?: number;
  readonly maxKept?: number;
  /** Called once per exchange sent to the authorization server (for metrics and tests). */
  readonly onExchange?: (outcome: 'ok' | 'error') => void;
}

export class TokenExchanger {
  readonly #kept = new Map<string, Kept>();
  readonly #pending = new Map<string, Promise<Exchanged>>();
  readonly #now: () => number;
  readonly #timeoutMs: number;
  readonly #maxKept: number;

  constructor(readonly options: TokenExchangerOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#maxKept = options.maxKept ?? 10_000;
  }

  /** The upstream token for this caller: kept (synchronously) or exchanged now. */
  exchange(config: TokenExchange, subjectToken: string): Exchanged | Promise<Exchanged> {
    const key = createHash('sha256')
      .update(subjectToken)
      .update('\n')
      .update(
        JSON.stringify([config.url, config.clientId, config.audiences, config.resources, config.scopes]),
      )
      .digest('base64');
    const kept = this.#kept.get(key);
    if (kept && kept.until > this.#now()) return { ok: true, token: kept.token };
    if (kept) this.#kept.delete(key);
    const pending = this.#pending.get(key);
    if (pending) return pending;
    const running = this.#request(config, subjectToken).then((result) => {
      this.#pending.delete(key);
      if (result.ok) {
        if (this.#kept.size >= this.#maxKept) this.#kept.delete(this.#kept.keys().next().value as string);
        this.#kept.set(key, { token: result.token, until: result.until });
      }
      return result.ok ? { ok: true as const, token: result.token } : result;
    });
    this.#pending.set(key, running);
    return running;
  }

  async #request(
    config: TokenExchange,
    subjectToken: string,
  ): Promise<{ ok: true; token: string; until: number } | { ok: false; message: string }> {
    const body = new URLSearchParams({
      grant_type: GRANT,
      subject_token: subjectToken,
      subject_token_type: ACCESS_TOKEN,
      requested_token_type: ACCESS_TOKEN,
    });
    for (const audience of config.audiences) body.append('audience', audience);
    for (const resource of config.resources) body.append('resource', resource);
    if (config.scopes.length > 0) body.set('scope', config.scopes.join(' '));
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (config.clientId !== undefined) {
      if (config.clientAuth === 'ClientSecretPost') {
        body.set('client_id', config.clientId);
        if (config.clientSecret !== undefined) body.set('client_secret', config.clientSecret);
      } else {
        const id = encodeURIComponent(config.clientId);
        const secret = encodeURIComponent(config.clientSecret ?? '');
        headers.authorization = `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
      }
    }
    try {
      const response = await fetch(config.url, {
        method: 'POST',
        headers,
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      const text = await response.text();
      if (text.length > MAX_RESPONSE_BYTES) throw new Error('the response is too large');
      const answer = JSON.parse(text) as {
        access_token?: unknown;
        expires_in?: unknown;
        error?: unknown;
        error_description?: unknown;
      };
      if (!response.ok || typeof answer.access_token !== 'string' || /[\r\n]/.test(answer.access_token)) {
        this.options.onExchange?.('error');
        const error =
          typeof answer.error === 'string' ? answer.error.slice(0, 100) : `HTTP ${response.status}`;
        const description =
          typeof answer.error_description === 'string' ? `: ${answer.error_description.slice(0, 200)}` : '';
        return { ok: false, message: `${error}${description}` };
      }
      this.options.onExchange?.('ok');
      const lifetime =
        typeof answer.expires_in === 'number' && answer.expires_in > 0
          ? answer.expires_in * 1000
          : DEFAULT_LIFETIME_MS;
      return { ok: true, token: answer.access_token, until: this.#now() + Math.max(0, lifetime - EARLY_MS) };
    } catch (error) {
      this.options.onExchange?.('error');
      const reason = error instanceof Error ? error.message : String(error);
      return { ok: false, message: `the token endpoint could not be reached (${reason.slice(0, 200)})` };
    }
  }
}
