// @ts-check
/**
 * The API docs page: Swagger UI (from drf-spectacular-sidecar's static files) on the app's schema.
 * Its settings come from the page (`api-docs-config`); "Try it out" sends the CSRF token, as the
 * session the page runs in requires.
 */

/** @typedef {{schemaUrl: string, csrfHeader: string, csrfToken: string}} DocsConfig */

const configElement = document.getElementById("api-docs-config");
/** @type {DocsConfig} */
const config = JSON.parse(configElement ? configElement.textContent || "{}" : "{}");
/** @type {any} Swagger UI's global, from its bundle (a classic script). */
const SwaggerUIBundle = /** @type {any} */ (window).SwaggerUIBundle;

SwaggerUIBundle({
  url: config.schemaUrl,
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  /** @param {{headers: Record<string, string>}} request */
  requestInterceptor: (request) => {
    request.headers[config.csrfHeader] = config.csrfToken;
    return request;
  },
});
