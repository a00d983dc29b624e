// Python refuses anything else before rendering; this is the same rule, checked again
// because the browser is where the navigation actually happens.
const SAFE_PATH = /^\/(?![/\\])[\w\-.~!$&'()*+,;=:@/?#%]*$/;

/** The absolute URL of a same-origin path, or null for anything that could leave the origin. */
export function sameOriginUrl(path: unknown): string | null {
  if (typeof path !== "string" || !SAFE_PATH.test(path)) return null;
  const { origin } = window.location;
  const url = new URL(path, origin);
  return url.origin === origin ? url.href : null;
}

/** Move the whole app page (components v2 render in it, not in an iframe); null reloads it. */
export function navigate(href: string | null): void {
  let target: Window = window;
  try {
    // A sandboxed or cross-origin embedding may forbid touching the top page.
    target = window.top ?? window;
    void target.location.href;
  } catch {
    target = window;
  }
  if (href === null) target.location.reload();
  else target.location.assign(href);
}
