import type { ComponentChildren } from "preact";

/** Props of a labelled text field. */
export interface FieldProps {
  id: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
  /** Shown under the label, tied to the input with aria-describedby. */
  hint?: ComponentChildren;
  /** The problem with this field, shown next to it and announced. */
  error?: string | undefined;
  type?: "text" | "password";
  multiline?: boolean;
  autoComplete?: string;
  required?: boolean;
  disabled?: boolean;
  spellcheck?: boolean;
  inputMode?: "text" | "numeric";
}

/** A text input with its label, hint and error; the error marks the input invalid. */
export function Field(p: FieldProps) {
  const hintId = p.hint ? `${p.id}-hint` : undefined;
  const errorId = p.error ? `${p.id}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(" ") || undefined;
  const common = {
    id: p.id,
    name: p.id,
    value: p.value,
    onInput: (e: Event) => p.onInput((e.currentTarget as HTMLInputElement).value),
    "aria-describedby": describedBy,
    "aria-invalid": p.error ? ("true" as const) : undefined,
    "aria-required": p.required ? ("true" as const) : undefined,
    autoComplete: p.autoComplete ?? "off",
    spellcheck: p.spellcheck ?? false,
    disabled: p.disabled,
  };
  return (
    <div class="field">
      <label for={p.id}>
        {p.label}
        {p.required ? <span class="required"> (required)</span> : null}
      </label>
      {p.hint ? (
        <p id={hintId} class="hint">
          {p.hint}
        </p>
      ) : null}
      {p.multiline ? <textarea rows={3} {...common} /> : <input type={p.type ?? "text"} inputMode={p.inputMode} {...common} />}
      <ErrorText id={errorId} message={p.error} />
    </div>
  );
}

/** A problem in words, next to what caused it; announced to screen readers when it appears. */
export function ErrorText(p: { id?: string | undefined; message: string | undefined }) {
  if (!p.message) return null;
  return (
    <p id={p.id} class="error" role="alert">
      {p.message}
    </p>
  );
}
