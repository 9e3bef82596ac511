/**
 * Matches a request to a route of the contract's table (method and path
 * template), among the routes of the groups one function serves.
 */
import { NotFoundError } from '../../domain/errors.js';
import { ROUTES, type HttpMethod, type RouteGroup, type RouteSpec } from './contract.js';
import { MethodNotAllowedError } from './errors.js';

/** `METHOD /path/{template}`: how API Gateway names a route. */
export type RouteKey = `${HttpMethod} ${string}`;

export function routeKey(route: Pick<RouteSpec, 'method' | 'path'>): RouteKey {
  return `${route.method} ${route.path}`;
}

export interface RouteMatch {
  readonly route: RouteSpec;
  /** Raw (decoded) path parameter values by template name; validated later. */
  readonly params: Readonly<Record<string, string>>;
}

interface CompiledRoute {
  readonly route: RouteSpec;
  readonly segments: readonly ({ readonly literal: string } | { readonly param: string })[];
}

function compile(route: RouteSpec): CompiledRoute {
  const segments = route.path
    .split('/')
    .slice(1)
    .map((s) => (s.startsWith('{') && s.endsWith('}') ? { param: s.slice(1, -1) } : { literal: s }));
  return { route, segments };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    // Malformed percent-encoding: keep it raw, so validation names the parameter.
    return segment;
  }
}

export class Router {
  private readonly routes: readonly CompiledRoute[];

  constructor(groups: readonly RouteGroup[] | undefined) {
    this.routes = ROUTES.filter((r) => groups === undefined || groups.includes(r.group)).map(compile);
  }

  /** The served routes. */
  get served(): readonly RouteSpec[] {
    return this.routes.map((r) => r.route);
  }

  /**
   * The route for a method and raw path; 404 when no served route has the path,
   * 405 when one has it with another method.
   */
  match(method: string, rawPath: string): RouteMatch {
    const parts = rawPath.split('/').slice(1);
    const allowed: string[] = [];
    for (const { route, segments } of this.routes) {
      if (segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segments.length && ok; i++) {
        const segment = segments[i] as CompiledRoute['segments'][number];
        const part = parts[i] as string;
        if ('literal' in segment) ok = segment.literal === part;
        else params[segment.param] = decodeSegment(part);
      }
      if (!ok) continue;
      if (route.method === method) return { route, params };
      allowed.push(route.method);
    }
    if (allowed.length > 0) throw new MethodNotAllowedError([...new Set(allowed)]);
    throw new NotFoundError('path: no such route', { field: 'path' });
  }
}
