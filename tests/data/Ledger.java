package example.ledger;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** A double-entry ledger: accounts, postings and a trial balance. */
public final class Ledger {
    public record Posting(String account, long cents, String memo) {}

    public static final class UnbalancedException extends RuntimeException {
        public UnbalancedException(long difference) {
            super("transaction is off by " + difference + " cents");
        }
    }

    private final Map<String, Long> balances = new HashMap<>();
    private final List<List<Posting>> journal = new ArrayList<>();

    public void open(String account) {
        if (balances.containsKey(account)) {
            throw new IllegalArgumentException("account exists: " + account);
        }
        balances.put(account, 0L);
    }

    public void post(List<Posting> postings) {
        long sum = 0;
        for (Posting posting : postings) {
            if (!balances.containsKey(posting.account())) {
                throw new IllegalArgumentException("no such account: " + posting.account());
            }
            sum += posting.cents();
        }
        if (sum != 0) {
            throw new UnbalancedException(sum);
        }
        for (Posting posting : postings) {
            balances.merge(posting.account(), posting.cents(), Long::sum);
        }
        journal.add(List.copyOf(postings));
    }

    public long balance(String account) {
        Long value = balances.get(account);
        if (value == null) {
            throw new IllegalArgumentException("no such account: " + account);
        }
        return value;
    }

    public List<String> trialBalance() {
        List<String> accounts = new ArrayList<>(balances.keySet());
        Collections.sort(accounts);
        List<String> lines = new ArrayList<>();
        long total = 0;
        for (String account : accounts) {
            long cents = balances.get(account);
            total += cents;
            lines.add(String.format("%-20s %12s", account, format(cents)));
        }
        lines.add(String.format("%-20s %12s", "total", format(total)));
        return lines;
    }

    static String format(long cents) {
        String sign = cents < 0 ? "-" : "";
        long abs = Math.abs(cents);
        return sign + (abs / 100) + "." + String.format("%02d", abs % 100);
    }

    public int size() {
        return journal.size();
    }

    public static void main(String[] args) {
        Ledger ledger = new Ledger();
        ledger.open("cash");
        ledger.open("income");
        ledger.post(List.of(new Posting("cash", 1250, "sale"), new Posting("income", -1250, "sale")));
        for (String line : ledger.trialBalance()) {
            System.out.println(line);
        }
        switch (ledger.size()) {
            case 0:
                System.out.println("empty");
                break;
            default:
                System.out.println(ledger.size() + " transactions");
        }
    }
}
