/**
 * Server-rendered HTML for the demo main app: a tagged template that escapes every
 * interpolated value unless it is itself `html` (Django templates autoescape the same way).
 */

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

export class SafeHtml {
  readonly value: string
  constructor(value: string) {
    this.value = value
  }
  toString(): string {
    return this.value
  }
}

function render(value: unknown): string {
  if (value instanceof SafeHtml) return value.value
  if (Array.isArray(value)) return value.map(render).join('')
  if (value === null || value === undefined || value === false) return ''
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] as string)
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? ''
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '')
  })
  return new SafeHtml(out)
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1e1e1e}
header{display:flex;justify-content:space-between;align-items:center;gap:1rem;border-bottom:1px solid #ddd;padding-bottom:.75rem}
form{display:inline}button{padding:.4rem .9rem;cursor:pointer}
.primary{background:#0061fe;color:#fff;border:0;border-radius:4px}
.notice{padding:.6rem .9rem;border-radius:4px;background:#e7f5ea;border:1px solid #8c8}
.problem{padding:.6rem .9rem;border-radius:4px;background:#fdecea;border:1px solid #e99}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #eee}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0}pre{background:#f6f6f6;padding:.5rem;overflow:auto}`

export function page(title: string, header: SafeHtml, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${title}</title><style>${new SafeHtml(STYLE)}</style></head>
<body>
${header}
<main>
${body}
</main>
</body>
</html>
`.value
}
