use leptos::either::{Either, EitherOf3};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use web_time::Instant;

use crate::account::{Account, Action, Status};
use crate::components::presence::PresenceControl;
use crate::components::status::{seconds_until, ticker};

/// Start: the anonymous viewer can log in, or create an account where the server allows it; a
/// logged-in operator sees who they are, sets their presence, changes their password and logs out.
#[component]
pub fn StartPanel(account: Account) -> impl IntoView {
    let jid = RwSignal::new(Account::remembered_jid());
    let password = RwSignal::new(String::new());
    let start = move |action| {
        account.log_in(action, &jid.get_untracked(), &password.get_untracked());
        password.set(String::new());
    };
    let log_in = move |ev: SubmitEvent| {
        ev.prevent_default();
        start(Action::LogIn);
    };
    let messages = move || {
        let notice = account
            .notice
            .get()
            .map(|notice| view! { <p class="notice" role="status" data-testid="account-notice">{notice}</p> });
        let error = account.error.get().map(
            |error| view! { <p class="error" role="alert" data-testid="account-error">{error}</p> },
        );
        (notice, error)
    };
    let tick = ticker(move || account.lost.with(Option::is_some));
    let lost = move || {
        account.lost.get().map(|(error, at)| {
            // Kept from screen readers: the status would be read out again every second.
            let countdown = move || {
                tick.track();
                match seconds_until(at, Instant::now()) {
                    0 => "…".to_owned(),
                    seconds => format!(" in {seconds} s"),
                }
            };
            view! {
                <p class="error" role="status" data-testid="account-reconnecting">
                    "Connection lost ("{error}"); reconnecting"<span aria-hidden="true">{countdown}</span>
                </p>
            }
        })
    };
    let register = move || {
        account.registration.get().map(|offered| match offered {
            true => Either::Left(view! {
                <button type="button" class="secondary" data-testid="register-submit"
                    on:click=move |_| start(Action::Register)>"Create account"</button>
            }),
            false => Either::Right(view! {
                <p class="muted" data-testid="register-closed">
                    "This server does not create accounts from the page: ask its administrators."
                </p>
            }),
        })
    };
    let body = move || match account.status.get() {
        Status::Anonymous => EitherOf3::A(view! {
            <p class="muted">"Watching as an anonymous viewer. Operators log in to chat."</p>
            <form class="login" on:submit=log_in aria-label="Log in">
                <label>"JID"<input name="jid" type="text" autocomplete="username" required
                    placeholder="name@domain" bind:value=jid data-testid="login-jid" /></label>
                <label>"Password"<input name="password" type="password" autocomplete="current-password"
                    required bind:value=password data-testid="login-password" /></label>
                <button type="submit" data-testid="login-submit">"Log in"</button>
                {register}
            </form>
        }),
        Status::LoggingIn { jid } => {
            EitherOf3::B(view! { <p role="status">"Logging in as "<bdi>{jid}</bdi>"…"</p> })
        }
        Status::Online { jid } => EitherOf3::C(view! {
            <p class="whoami">"Logged in as "<bdi data-testid="whoami">{jid}</bdi></p>
            <PresenceControl account />
            <PasswordChange account />
            <button type="button" class="secondary" on:click=move |_| account.log_out()
                data-testid="logout">"Log out"</button>
        }),
    };
    view! {
        <section class="pane account" aria-labelledby="account-title">
            <h2 id="account-title">"Operator"</h2>
            {body}
            {lost}
            {messages}
        </section>
    }
}

#[component]
fn PasswordChange(account: Account) -> impl IntoView {
    let new_password = RwSignal::new(String::new());
    let confirmation = RwSignal::new(String::new());
    let change = move |ev: SubmitEvent| {
        ev.prevent_default();
        account.change_password(&new_password.get_untracked(), &confirmation.get_untracked());
        new_password.set(String::new());
        confirmation.set(String::new());
    };
    view! {
        <details class="password">
            <summary>"Change password"</summary>
            <form on:submit=change aria-label="Change password">
                <input type="password" autocomplete="new-password" required bind:value=new_password
                    aria-label="New password" placeholder="New password" data-testid="password-new" />
                <input type="password" autocomplete="new-password" required bind:value=confirmation
                    aria-label="New password again" placeholder="Again" data-testid="password-again" />
                <button type="submit" data-testid="password-submit">"Change"</button>
            </form>
        </details>
    }
}
