;;; eglot_completion.el --- drive `codellama lsp' with eglot in batch mode (test_lsp_eglot.py)
;; Prints "KEY JSON" lines: the model's state, the completed line, the server's stats.

(dolist (dir (directory-files "/usr/share/emacs/site-lisp/elpa" t "^[a-z]"))
  (add-to-list 'load-path dir))
(require 'eglot)
(require 'python)
(require 'json)

(defun codellama-out (key value)
  (princ (format "%s %s\n" key (json-encode value))))

(defun codellama-stats (server)
  (jsonrpc-request server :codellama/stats nil))

;; Wait for the server however long it starts (the machine may be busy).
(setq eglot-sync-connect t
      eglot-connect-timeout 600)

(let* ((options (json-read-from-string (getenv "EGLOT_OPTIONS")))
       (eglot-server-programs
        `((python-mode . (,(getenv "EGLOT_PYTHON") "-m" "codellama_lsp" "lsp"
                          :initializationOptions ,options)))))
  (find-file (getenv "EGLOT_FILE"))
  (python-mode)
  (apply #'eglot (eglot--guess-contact))
  (let ((server (eglot-current-server)) (state nil) (tries 0))
    (while (and (< tries 600)
                (not (member (setq state (plist-get (plist-get (codellama-stats server) :model)
                                                    :state))
                             '("ready" "failed"))))
      (setq tries (1+ tries))
      (sleep-for 0.1))
    (codellama-out "model" state)
    (goto-char (point-min))
    (forward-line 1)
    (end-of-line)
    ;; In batch mode idle timers never run: send the changes by hand.
    (eglot--signal-textDocument/didChange)
    (completion-at-point)
    (codellama-out "line" (buffer-substring (line-beginning-position) (line-end-position)))
    (eglot--signal-textDocument/didChange)
    (codellama-out "stats" (codellama-stats server))
    (eglot-shutdown server)))
