/**
 * The one place the extension talks HTTP: every call goes through `requestAPI`.
 */
import { ServerConnection } from '@jupyterlab/services';

import { IProblem } from './types';
import { __ } from './i18n';

export const NAMESPACE = 'jupyter-flow';

export type Query = Record<string, string | number | boolean | null | undefined>;

/** A failed call, carrying the server's located message when it sent one. */
export class FlowRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problems: IProblem[] = [],
    readonly hint: string | null = null
  ) {
    super(message);
    this.name = 'FlowRequestError';
  }
}

/** `base/jupyter-flow/endpoint?query`, leaving out empty query values. */
export function makeUrl(baseUrl: string, endpoint: string, query: Query = {}): string {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const path = endpoint
    .split('/')
    .filter(part => part.length > 0)
    .map(encodeURIComponent)
    .join('/');
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') {
      params.append(key, String(value));
    }
  }
  const search = params.toString();
  return `${base}${NAMESPACE}/${path}${search ? `?${search}` : ''}`;
}

export interface IRequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  query?: Query;
  body?: unknown;
  settings?: ServerConnection.ISettings;
}

/** Call the server extension; resolves to the parsed JSON answer or throws `FlowRequestError`. */
export async function requestAPI<T>(endpoint: string, options: IRequestOptions = {}): Promise<T> {
  const settings = options.settings ?? ServerConnection.makeSettings();
  const url = makeUrl(settings.baseUrl, endpoint, options.query);
  const init: RequestInit = { method: options.method ?? 'GET' };
  if (options.body !== undefined) {
    init.body = JSON.stringify(options.body);
    init.headers = { 'Content-Type': 'application/json' };
  }
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new FlowRequestError(0, __('The Jupyter server could not be reached: %1', String(error)));
  }
  const text = await response.text();
  let data: unknown = null;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    throw toError(response.status, data, text);
  }
  return data as T;
}

function toError(status: number, data: unknown, text: string): FlowRequestError {
  if (data && typeof data === 'object') {
    const body = data as Record<string, unknown>;
    const message =
      (typeof body.text === 'string' && body.text) ||
      (typeof body.message === 'string' && body.message) ||
      (typeof body.reason === 'string' && body.reason) ||
      __('HTTP %1', status);
    const problems = Array.isArray(body.problems) ? (body.problems as IProblem[]) : [];
    const hint = typeof body.hint === 'string' ? body.hint : null;
    return new FlowRequestError(status, message, problems, hint);
  }
  return new FlowRequestError(status, text.trim() || __('HTTP %1', status));
}
