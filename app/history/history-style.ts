/**
 * The pages' only stylesheet, served as a file so the Content-Security-Policy can forbid
 * inline styles and every script. Colours meet WCAG AA contrast on white (body text 16:1,
 * links 8.6:1, the state colours over 6:1), and state is always written out as text, never
 * told by colour alone. Keyboard focus is a thick outline on everything focusable.
 */
export const historyStyle = `
:root { color-scheme: light; font-family: system-ui, sans-serif; color: #1b1b1b; background: #fff; line-height: 1.45; }
body { margin: 0; }
a { color: #0645ad; }
a:visited { color: #5a2d91; }
:focus-visible { outline: 3px solid #1a5fb4; outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: #fff; padding: .5rem 1rem; }
.skip:focus { left: .5rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
header { display: flex; gap: 1.5rem; align-items: baseline; flex-wrap: wrap; padding: .75rem 1.25rem; border-bottom: 2px solid #1b1b1b; }
header .brand { font-weight: 700; font-size: 1.15rem; }
header nav ul { display: flex; gap: 1rem; list-style: none; margin: 0; padding: 0; }
header form { margin-left: auto; }
main { padding: 1rem 1.25rem 3rem; max-width: 90rem; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; font-size: .95rem; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #8a8a8a; vertical-align: top; }
th { background: #eef0f3; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, monospace; font-size: .9em; overflow-wrap: anywhere; }
form.filters { display: flex; gap: 1rem; align-items: end; flex-wrap: wrap; margin-bottom: 1rem; }
form.filters div { display: flex; flex-direction: column; gap: .2rem; }
label { font-weight: 600; }
select, input, button { font: inherit; padding: .35rem .5rem; border: 2px solid #4d4d4d; border-radius: 4px; background: #fff; color: #1b1b1b; }
button { background: #1a5fb4; border-color: #1a5fb4; color: #fff; cursor: pointer; }
button.link { background: none; border: none; color: #0645ad; text-decoration: underline; padding: 0; }
.muted { color: #4d4d4d; }
.state-succeeded, .verified { color: #0a6b2e; font-weight: 600; }
.state-failed, .state-timed_out, .state-budget_exhausted, .state-disk_limit, .broken { color: #a40e26; font-weight: 600; }
.verdict { border: 2px solid currentColor; padding: .6rem .9rem; border-radius: 4px; max-width: 60rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1.25rem; margin: 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
nav.pages ul { display: flex; gap: 1rem; list-style: none; padding: 0; }
.problem { border-left: 4px solid #a40e26; padding: .5rem .9rem; background: #fff4f4; max-width: 50rem; }
`;
