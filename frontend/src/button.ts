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
 * same parentElement whenever `data` changes). `onClick` runs before the page leaves.
 */
export function renderButton(data: ButtonData, parent: HTMLElement | ShadowRoot, onClick: () => void): void {
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
    // Trigger first so a path that stays inside the app still clears the user; navigating
    // right away means a closing websocket can never swallow the logout itself.
    onClick();
    navigate(href);
  };
}
