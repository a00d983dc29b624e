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
  // Typed void by Streamlit; 1.67 returns a promise settled once the trigger is sent.
  setTriggerValue: (name: "logout", value: boolean) => unknown;
}

export default function render({ data, key, parentElement, setTriggerValue }: RendererArgs): (() => void) | void {
  if (data.button) {
    renderButton(data.button, parentElement, () => {
      announceLogout();
      return setTriggerValue("logout", true);
    });
  }
  if (data.guard) return guard(key, data.guard);
}
