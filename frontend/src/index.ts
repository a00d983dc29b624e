/**
 * One bundle, two elements: logout_button (a button that brings a session guard) and
 * session_guard (the guard alone, with nothing to show).
 */
import { type ButtonData, renderButton } from "./button";
import { announceLogout, type GuardData, guard } from "./guard";

interface RendererArgs {
  data: { button?: ButtonData; guard?: GuardData };
  key: string;
  parentElement: HTMLElement | ShadowRoot;
  setTriggerValue: (name: "logout", value: boolean) => void;
}

export default function render({ data, key, parentElement, setTriggerValue }: RendererArgs): (() => void) | void {
  if (data.button) {
    renderButton(data.button, parentElement, () => {
      setTriggerValue("logout", true);
      announceLogout();
    });
  }
  if (data.guard) return guard(key, data.guard);
}
