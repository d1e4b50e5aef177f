import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

/** Props of a confirmation dialog. */
export interface ConfirmProps {
  id: string;
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  /** Whether the confirm button may be pressed (e.g. once the typed confirmation matches). */
  canConfirm?: boolean;
  danger?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}

/**
 * A modal confirmation on the native <dialog> element: it traps focus, Escape cancels, and
 * focus returns to the button that opened it.
 */
export function ConfirmDialog(p: ConfirmProps) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current!;
    const opener = document.activeElement as HTMLElement | null;
    dialog.showModal();
    return () => {
      if (dialog.open) dialog.close();
      opener?.focus();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      id={p.id}
      aria-labelledby={`${p.id}-title`}
      onCancel={(e) => {
        e.preventDefault();
        p.onCancel();
      }}
    >
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          if (p.canConfirm !== false) p.onConfirm();
        }}
      >
        <h2 id={`${p.id}-title`}>{p.title}</h2>
        {p.children}
        <div class="actions">
          <button type="button" onClick={p.onCancel}>
            Cancel
          </button>
          <button type="submit" class={p.danger ? "danger" : "primary"} disabled={p.canConfirm === false}>
            {p.confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
