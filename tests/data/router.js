'use strict';

// A tiny HTTP-style router: patterns with :params, middleware, and a dispatcher.
const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];

function compile(pattern) {
  const names = [];
  const source = pattern
    .split('/')
    .map((part) => {
      if (part.startsWith(':')) {
        names.push(part.slice(1));
        return '([^/]+)';
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { regex: new RegExp(`^${source}$`), names };
}

class Router {
  constructor() {
    this.routes = [];
    this.middleware = [];
  }

  use(fn) {
    if (typeof fn !== 'function') {
      throw new TypeError('middleware must be a function');
    }
    this.middleware.push(fn);
    return this;
  }

  add(method, pattern, handler) {
    if (!METHODS.includes(method)) {
      throw new Error(`unsupported method ${method}`);
    }
    const { regex, names } = compile(pattern);
    this.routes.push({ method, regex, names, handler });
    return this;
  }

  match(method, path) {
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const found = route.regex.exec(path);
      if (!found) {
        continue;
      }
      const params = {};
      route.names.forEach((name, index) => {
        params[name] = decodeURIComponent(found[index + 1]);
      });
      return { route, params };
    }
    return null;
  }

  async dispatch(request) {
    const hit = this.match(request.method, request.path);
    if (hit === null) {
      return { status: 404, body: 'not found' };
    }
    const context = { request, params: hit.params, state: {} };
    let index = 0;
    const next = async () => {
      const fn = this.middleware[index++];
      if (fn) {
        return fn(context, next);
      }
      return hit.route.handler(context);
    };
    try {
      return await next();
    } catch (error) {
      return { status: 500, body: String(error && error.message) };
    }
  }
}

for (const method of METHODS) {
  Router.prototype[method.toLowerCase()] = function (pattern, handler) {
    return this.add(method, pattern, handler);
  };
}

module.exports = { Router, compile };
