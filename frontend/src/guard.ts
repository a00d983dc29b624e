/**
 * The session guard: one per browser tab, however many elements ask for it.
 *
 * Streamlit reads the ALB's identity headers once, when its websocket opens, and the ALB never
 * re-checks an open websocket; so a tab stays "signed in" after its session ended elsewhere.
 * The guard asks the ALB instead: a same-origin fetch of a small authenticated path, refusing to
 * follow redirects. An opaque redirect, 401 or 403 means the session is gone and the tab leaves;
 * anything else (a 5xx, a network error, a timeout) is not a logout: try again later, slower.
 */
import { navigate } from "./nav";

export interface GuardData {
  /** Seconds between probes (jittered); 0 probes only on focus, visibility and reconnects. */
  interval: number;
  /** Same-origin URL that passes the ALB's authenticate rule (never the health check). */
  probe: string;
  /** Where a signed-out tab goes; null reloads, so the ALB asks to sign in. */
  signedOut: string | null;
  /** A session_guard() element: its settings win over the ones a logout_button brings. */
  explicit: boolean;
}

type Verdict = "alive" | "gone" | "unknown";

const CHANNEL = "streamlit-alb-auth";
const HEALTH = "/_stcore/health";
const EVENT_GAP_MS = 1000; // focus and visibilitychange arrive together: one probe
const PROBE_TIMEOUT_MS = 10_000;
const RETRY_BASE_S = 5;
const RETRY_MAX_S = 300;
// After another tab's click: its logout request may not have expired the cookies yet.
const CONFIRM_MS = [250, 500, 1000, 2000, 4000, 8000];

const mounted = new Map<string, GuardData>();
let channel: BroadcastChannel | undefined;
let timer: ReturnType<typeof setTimeout> | undefined;
let busy = false;
let leaving = false;
let failures = 0;
let lastProbe = 0;

function settings(): GuardData | undefined {
  let chosen: GuardData | undefined;
  for (const data of mounted.values()) if (!chosen || data.explicit || !chosen.explicit) chosen = data;
  return chosen;
}

async function ask(url: string): Promise<Verdict> {
  try {
    const answer = await fetch(url, {
      redirect: "manual",
      cache: "no-store",
      credentials: "same-origin",
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    if (answer.type === "opaqueredirect" || answer.status === 401 || answer.status === 403) return "gone";
    // Any other answer came from the app, so the ALB let the request through.
    return answer.status < 500 ? "alive" : "unknown";
  } catch {
    return "unknown";
  }
}

function leave(data: GuardData): void {
  if (leaving) return;
  leaving = true;
  stopTimer();
  navigate(data.signedOut);
}

function stopTimer(): void {
  clearTimeout(timer);
  timer = undefined;
}

function schedule(seconds: number): void {
  stopTimer();
  if (seconds > 0 && !leaving) timer = setTimeout(() => void probe(), seconds * (800 + Math.random() * 400));
}

/** One probe at a time; schedules the next one from its verdict. */
async function probe(evenHidden = false): Promise<Verdict | undefined> {
  const data = settings();
  if (!data || busy || leaving) return undefined;
  if (document.hidden && !evenHidden) {
    // A hidden tab shows nobody anything; it probes when it becomes visible again.
    stopTimer();
    return undefined;
  }
  busy = true;
  lastProbe = Date.now();
  const verdict = await ask(data.probe);
  busy = false;
  // Elements may have mounted or gone while the probe was out: act on the settings of now.
  const now = settings() ?? data;
  if (verdict === "gone") leave(now);
  else if (verdict === "alive") {
    failures = 0;
    schedule(now.interval);
  } else {
    failures += 1;
    schedule(Math.min(RETRY_BASE_S * 2 ** (failures - 1), RETRY_MAX_S));
  }
  return verdict;
}

function onEvent(): void {
  if (Date.now() - lastProbe >= EVENT_GAP_MS) void probe();
}

async function confirmLogout(): Promise<void> {
  for (const wait of CONFIRM_MS) {
    await new Promise((done) => setTimeout(done, wait));
    if (leaving || !settings()) return;
    lastProbe = 0;
    // Most often this tab is in the background while the user clicks in another.
    if ((await probe(true)) === "gone") return;
  }
}

function onResources(list: PerformanceObserverEntryList): void {
  // Streamlit fetches its health path only while (re)connecting its websocket. Behind an ALB whose
  // session ended it would retry forever; a probe tells whether that is why.
  if (list.getEntries().some((entry) => new URL(entry.name).pathname.endsWith(HEALTH))) onEvent();
}

function start(): void {
  channel = new BroadcastChannel(CHANNEL);
  channel.onmessage = (event: MessageEvent) => {
    if (event.data === "logout") void confirmLogout();
  };
  document.addEventListener("visibilitychange", onEvent);
  window.addEventListener("focus", onEvent);
  window.addEventListener("online", onEvent);
  new PerformanceObserver(onResources).observe({ type: "resource" });
}

/** Tell every other tab of this origin that this one is logging out; this one stops guarding. */
export function announceLogout(): void {
  leaving = true;
  stopTimer();
  channel?.postMessage("logout");
}

/** Mount or unmount one element's settings, and reschedule if that changed the interval. */
function change(update: () => void): void {
  const before = settings()?.interval;
  update();
  const after = settings()?.interval;
  if (after === undefined) stopTimer();
  else if (after !== before && !busy) schedule(after);
}

/** Register one mounted element's settings; returns the cleanup Streamlit calls on unmount. */
export function guard(key: string, data: GuardData): () => void {
  if (!channel) start();
  change(() => mounted.set(key, data));
  return () => change(() => mounted.delete(key));
}
