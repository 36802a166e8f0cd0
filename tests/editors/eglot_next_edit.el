;;; eglot_next_edit.el --- the "Apply next edit" code action in eglot, batch mode  -*- lexical-binding: t -*-

;; Run: emacs --batch -l eglot_next_edit.el (tests/editors/test_emacs.py does).
;; Environment: CODELLAMA_SERVER (the server command, words separated by tabs),
;; CODELLAMA_OPTIONS (the initializationOptions, JSON), CODELLAMA_FILE (a Python file whose
;; line 2 reads "    count = 0").
;; The driver renames that `count' to `n' as a user would, then:
;; 1. asks for the code actions at point, types one more character elsewhere and deletes it,
;;    and runs the "Apply next edit" action anyway: the server refuses it (the document's
;;    version changed);
;; 2. asks again and runs it: the server applies it with workspace/applyEdit.
;; Prints "KEY JSON" lines: model, titles (of the code actions), stale (the buffer after the
;; refused action), text (the buffer after the applied one), stats (the server's next_edits).
;; Exits 1 with "FAIL: ..." on stderr when something fails.

(require 'package)
(package-initialize)  ; Debian's elpa-eglot is a package under /usr/share/emacs/site-lisp/elpa
(require 'eglot)
(require 'json)
(require 'python)

(setq eglot-sync-connect t
      eglot-connect-timeout 600
      ;; eglot asks before applying a server's edit by default; batch mode cannot answer.
      eglot-confirm-server-initiated-edits nil)

(defun codellama-test--out (key value)
  (princ (format "%s %s\n" key (json-encode value))))

(defun codellama-test--fail (format-string &rest args)
  (message "FAIL: %s" (apply #'format format-string args))
  (kill-emacs 1))

(defun codellama-test--wait-for-model (server)
  "Poll codellama/stats until the model has loaded or failed (120 s at most)."
  (let ((deadline (+ (float-time) 120)) (state nil))
    (while (not (member state '("ready" "failed")))
      (setq state (plist-get (plist-get (jsonrpc-request server :codellama/stats nil) :model)
                             :state))
      (when (> (float-time) deadline) (codellama-test--fail "the model is still %s" state))
      (accept-process-output nil 0.05))
    state))

(defun codellama-test--next-edit-action ()
  "The \"Apply next edit\" code action at point, after the titles of all of them are printed."
  ;; Batch mode runs no idle timers: send the pending changes by hand before each request.
  (eglot--signal-textDocument/didChange)
  (let* ((actions (eglot-code-actions (point) (point)))
         (titles (mapcar (lambda (a) (plist-get a :title)) actions)))
    (codellama-test--out "titles" titles)
    (or (cl-find "Apply next edit" actions :key (lambda (a) (plist-get a :title))
                 :test #'equal)
        (codellama-test--fail "no \"Apply next edit\" action among %S" titles))))

(defun codellama-test--run (action server)
  "Run ACTION as eglot runs a code action picked by the user."
  (eglot--read-execute-code-action (list action) server "quickfix")
  (eglot--signal-textDocument/didChange))

(let* ((command (split-string (getenv "CODELLAMA_SERVER") "\t"))
       (options (json-read-from-string (getenv "CODELLAMA_OPTIONS")))
       (eglot-server-programs
        `((python-mode . (,@command :initializationOptions ,options)))))
  (condition-case err
      (progn
        (find-file (getenv "CODELLAMA_FILE"))
        (python-mode)
        (apply #'eglot (eglot--guess-contact))
        (let ((server (eglot-current-server)))
          (unless server (codellama-test--fail "eglot did not connect"))
          (codellama-test--out "model" (codellama-test--wait-for-model server))
          (goto-char (point-min))
          (search-forward "count = 0")
          (replace-match "n = 0")
          (search-backward "n = 0")
          ;; 1. The document changes after the action was offered (a character typed and
          ;; deleted: the same text at a newer version): it is refused.
          (let ((action (codellama-test--next-edit-action)))
            (save-excursion (goto-char (point-max)) (insert "#"))
            (eglot--signal-textDocument/didChange)
            (save-excursion (goto-char (point-max)) (delete-char -1))
            (eglot--signal-textDocument/didChange)
            (codellama-test--run action server)
            (codellama-test--out "stale" (buffer-string)))
          ;; 2. Offered for the buffer as it is: applied.
          (codellama-test--run (codellama-test--next-edit-action) server)
          (codellama-test--out "text" (buffer-string))
          (codellama-test--out "stats" (plist-get (jsonrpc-request server :codellama/stats nil)
                                                  :next_edits))
          (eglot-shutdown server)))
    (error (codellama-test--fail "%S" err)))
  (kill-emacs 0))

;;; eglot_next_edit.el ends here
