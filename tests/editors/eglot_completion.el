;;; eglot_completion.el --- drive `codellama lsp' with eglot in batch mode  -*- lexical-binding: t -*-

;; Run: emacs --batch -l eglot_completion.el (tests/editors/test_emacs.py does).
;; Environment: CODELLAMA_SERVER (the server command, words separated by tabs),
;; CODELLAMA_OPTIONS (the initializationOptions, JSON), CODELLAMA_FILE (a Python file) and
;; CODELLAMA_LINE (the 1-based line whose end is the cursor).
;; Prints "KEY JSON" lines: model (its state), items (the completion items at the cursor),
;; line (the cursor's line after completion-at-point inserted the item), stats (the server's).
;; Exits 1 with "FAIL: ..." on stderr when something fails.

(require 'package)
(package-initialize)  ; Debian's elpa-eglot is a package under /usr/share/emacs/site-lisp/elpa
(require 'eglot)
(require 'json)
(require 'python)

;; Wait for the server's initialize answer (it imports torch) however long a busy machine takes.
(setq eglot-sync-connect t
      eglot-connect-timeout 600)

(defun codellama-test--out (key value)
  (princ (format "%s %s\n" key (json-encode value))))

(defun codellama-test--fail (format-string &rest args)
  (message "FAIL: %s" (apply #'format format-string args))
  (kill-emacs 1))

(defun codellama-test--stats (server)
  (jsonrpc-request server :codellama/stats nil))

(defun codellama-test--wait-for-model (server)
  "Poll codellama/stats until the model has loaded or failed (120 s at most)."
  (let ((deadline (+ (float-time) 120)) (state nil))
    (while (not (member state '("ready" "failed")))
      (setq state (plist-get (plist-get (codellama-test--stats server) :model) :state))
      (when (> (float-time) deadline) (codellama-test--fail "the model is still %s" state))
      (accept-process-output nil 0.05))
    state))

(defun codellama-test--items ()
  "The completion items at point, as eglot's completion-at-point gives them."
  (let* ((capf (eglot-completion-at-point))
         (table (nth 2 capf)))
    (mapcar (lambda (proxy)
              (let ((item (get-text-property 0 'eglot--lsp-item proxy)))
                `((text . ,(substring-no-properties proxy))
                  (detail . ,(plist-get item :detail)))))
            (all-completions "" table))))

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
          (forward-line (1- (string-to-number (getenv "CODELLAMA_LINE"))))
          (end-of-line)
          ;; Batch mode runs no idle timers: eglot sends pending changes only before a
          ;; :deferred request, so send them by hand before each request.
          (eglot--signal-textDocument/didChange)
          (codellama-test--out "items" (codellama-test--items))
          (eglot--signal-textDocument/didChange)
          (completion-at-point)
          (codellama-test--out "line" (buffer-substring (line-beginning-position)
                                                        (line-end-position)))
          (eglot--signal-textDocument/didChange)
          (codellama-test--out "stats" (codellama-test--stats server))
          (eglot-shutdown server)))
    (error (codellama-test--fail "%S" err)))
  (kill-emacs 0))

;;; eglot_completion.el ends here
