;;; eglot_completion.el --- ask codellama lsp for a completion through eglot, in batch mode  -*- lexical-binding: t -*-

;; Run: emacs --batch -l eglot_completion.el
;; Environment: CODELLAMA_SERVER (the server command, words separated by tabs),
;; CODELLAMA_MODEL (the model setting), CODELLAMA_FILE (a Python file; the cursor goes to its end).
;; Prints one line "RESULT: " followed by JSON: the completion items (text and detail).
;; Exits 1 with a message on stderr when something fails.

(require 'package)
(package-initialize)  ; Debian's elpa-eglot is a package under /usr/share/emacs/site-lisp/elpa
(require 'eglot)
(require 'json)
(require 'python)

;; Wait for the server's initialize answer (it imports torch) instead of going on without it.
(setq eglot-sync-connect t
      eglot-connect-timeout 300)  ; a busy machine starts the server slowly

(defun codellama-test--fail (format-string &rest args)
  (message "FAIL: %s" (apply #'format format-string args))
  (kill-emacs 1))

(defun codellama-test--wait-for-model (server)
  "Poll codellama/stats until the model is ready (60 s at most)."
  (let ((deadline (+ (float-time) 60)) (state nil))
    (while (not (equal state "ready"))
      (setq state (plist-get (plist-get (jsonrpc-request server :codellama/stats nil) :model)
                             :state))
      (when (equal state "failed") (codellama-test--fail "the model failed to load"))
      (when (> (float-time) deadline) (codellama-test--fail "the model is still %s" state))
      (accept-process-output nil 0.1))))

(defun codellama-test--items ()
  "The completion items at point, as eglot's completion-at-point gives them."
  ;; Batch mode runs no idle timers: send the pending didChange by hand (see DESIGN.md).
  (eglot--signal-textDocument/didChange)
  (let* ((capf (eglot-completion-at-point))
         (table (nth 2 capf)))
    (mapcar (lambda (proxy)
              (let ((item (get-text-property 0 'eglot--lsp-item proxy)))
                `((text . ,(substring-no-properties proxy))
                  (detail . ,(plist-get item :detail)))))
            (all-completions "" table))))

(let* ((command (split-string (getenv "CODELLAMA_SERVER") "\t"))
       (file (getenv "CODELLAMA_FILE"))
       ;; eglot asks with an invoked trigger: one greedy item keeps the answer the same in every
       ;; run (sampled noise from the tiny model may hold a NUL, which Emacs's JSON refuses).
       (options (list :model (getenv "CODELLAMA_MODEL") :debounceMs 0 :loadWaitMs 60000
                      :invokedItems 1 :invokedTemperature 0 :maxNewTokens 16)))
  ;; The configuration of editors/README.md, with the test's command and settings.
  (add-to-list 'eglot-server-programs
               `((python-mode) . (,@command :initializationOptions ,options)))
  (condition-case err
      (progn
        (find-file file)
        (python-mode)
        (goto-char (point-max))
        (apply #'eglot (eglot--guess-contact))
        (let ((server (eglot-current-server)))
          (unless server (codellama-test--fail "eglot did not connect"))
          (codellama-test--wait-for-model server)
          (princ (format "RESULT: %s\n" (json-encode (codellama-test--items))))
          (eglot-shutdown server)))
    (error (codellama-test--fail "%S" err)))
  (kill-emacs 0))

;;; eglot_completion.el ends here
