import { navigate, sameOriginUrl } from "./nav";

export interface ButtonData {
  path: string;
  label: string;
  help: string | null;
  stretch: boolean;
  type: "primary" | "secondary" | "tertiary";
  /** ":material/name:" or one emoji, already checked by Python; "" for none. */
  icon: string;
}

const MATERIAL = /^:material\/(\w+):$/;
const SEND_MS = 300;

function part(parent: Element | ShadowRoot, selector: string, make: () => HTMLElement): HTMLElement {
  return parent.querySelector<HTMLElement>(selector) ?? parent.appendChild(make());
}

function element(tag: string, className: string): HTMLElement {
  const made = document.createElement(tag);
  made.className = className;
  return made;
}

/**
 * A native-looking <button>, reused across reruns (Streamlit calls the renderer again with the
 * same parentElement whenever `data` changes). `onClick` runs before the page leaves; the page
 * waits for the promise it may return and for one timer tick after it, never more than SEND_MS.
 */
export function renderButton(data: ButtonData, parent: HTMLElement | ShadowRoot, onClick: () => unknown): void {
  const wrap = part(parent, ".st-alb-wrap", () => element("span", "st-alb-wrap"));
  const button = part(wrap, "button", () => {
    const made = element("button", "st-alb-logout") as HTMLButtonElement;
    made.type = "button";
    return made;
  }) as HTMLButtonElement;
  wrap.toggleAttribute("data-stretch", data.stretch);
  button.dataset.kind = data.type;

  const material = MATERIAL.exec(data.icon);
  const icon = element("span", material ? "st-alb-icon st-alb-material" : "st-alb-icon");
  icon.setAttribute("aria-hidden", "true");
  icon.translate = false;
  icon.textContent = material ? material[1] : data.icon;
  const label = element("span", "st-alb-label");
  label.textContent = data.label;
  button.replaceChildren(...(data.icon ? [icon, label] : [label]));

  // Streamlit's own tooltip shows on hover and on keyboard focus; CSS does both from this node.
  let tip = wrap.querySelector<HTMLElement>(".st-alb-tip");
  if (data.help) {
    tip ??= wrap.appendChild(element("span", "st-alb-tip"));
    tip.id = "st-alb-tip";
    tip.setAttribute("role", "tooltip");
    tip.textContent = data.help;
    button.setAttribute("aria-describedby", tip.id);
  } else {
    tip?.remove();
    button.removeAttribute("aria-describedby");
  }

  const href = sameOriginUrl(data.path);
  button.disabled = href === null;
  if (href === null) console.error("logout_button: refusing unsafe path", data.path);

  button.onclick = () => {
    if (href === null) return;
    button.onclick = null;
    // Trigger first so a path that stays inside the app still clears the user. Streamlit 1.67
    // queues the trigger and sends it from a zero-delay timer that the call schedules; its
    // component wrapper returns nothing to wait on. Timers of equal delay run in the order they
    // were set, so one set after the call runs once the trigger is on the websocket. Leaving any
    // sooner loses the trigger whenever the navigation commits first. A promise, if a later
    // Streamlit returns one, is waited for as well; the cap means a closing websocket can never
    // hold up the logout itself.
    const sent = Promise.resolve(onClick()).then(() => new Promise((done) => setTimeout(done, 0)));
    void Promise.race([sent, new Promise((done) => setTimeout(done, SEND_MS))]).finally(() => navigate(href));
  };
}
