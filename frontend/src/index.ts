/**
 * The logout button: a native-looking <button> that tells Python, then leaves the page.
 *
 * Streamlit calls the default export on mount and again whenever `data` changes, with the
 * same `parentElement`, so rendering reuses the button it finds there.
 */

interface LogoutData {
  path: string;
  label: string;
  help: string | null;
  stretch: boolean;
}

interface RendererArgs {
  data: LogoutData;
  parentElement: HTMLElement | ShadowRoot;
  setTriggerValue: (name: "logout", value: boolean) => void;
}

// Python refuses anything else before rendering; this is the same rule, checked again
// because the browser is where the navigation actually happens.
const SAFE_PATH = /^\/(?![/\\])[\w\-.~!$&'()*+,;=:@/?#%]*$/;

function sameOriginUrl(path: unknown, origin: string): string | null {
  if (typeof path !== "string" || !SAFE_PATH.test(path)) return null;
  const url = new URL(path, origin);
  return url.origin === origin ? url.href : null;
}

function navigate(href: string): void {
  try {
    (window.top ?? window).location.assign(href);
  } catch {
    // A sandboxed or cross-origin embedding may forbid moving the top page.
    window.location.assign(href);
  }
}

export default function render({ data, parentElement, setTriggerValue }: RendererArgs): void {
  let button = parentElement.querySelector<HTMLButtonElement>("button");
  if (!button) {
    button = document.createElement("button");
    button.type = "button";
    button.className = "st-alb-logout";
    parentElement.appendChild(button);
  }
  button.textContent = data.label;
  button.toggleAttribute("data-stretch", data.stretch);
  if (data.help) button.title = data.help;
  else button.removeAttribute("title");

  const href = sameOriginUrl(data.path, window.location.origin);
  button.disabled = href === null;
  if (href === null) console.error("logout_button: refusing unsafe path", data.path);

  button.onclick = () => {
    if (href === null) return;
    // Trigger first so a path that stays inside the app still clears the user; navigating
    // right away means a closing websocket can never swallow the logout itself.
    setTriggerValue("logout", true);
    navigate(href);
  };
}
