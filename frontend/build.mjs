// Builds the committed bundle: `npm run build` writes ../streamlit_alb_auth/component/,
// `npm run build -- --outdir DIR` writes elsewhere (the staleness test compares the two).
import { build } from "esbuild";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { outdir: { type: "string", default: "../streamlit_alb_auth/component" } },
});

const shared = {
  absWorkingDir: import.meta.dirname,
  bundle: true,
  minify: true,
  legalComments: "none",
  charset: "utf8",
  logLevel: "warning",
  target: ["chrome111", "edge111", "firefox113", "safari16.2"],
};

await Promise.all([
  build({ ...shared, entryPoints: ["src/index.ts"], format: "esm", outfile: `${values.outdir}/index.js` }),
  build({ ...shared, entryPoints: ["src/style.css"], outfile: `${values.outdir}/style.css` }),
]);
