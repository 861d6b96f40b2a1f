use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use crate::account::Account;

/// Contacts with their presence (click to chat), adding and removing them, and the requests to
/// see our presence, accepted or denied.
#[component]
pub fn RosterPanel(account: Account) -> impl IntoView {
    let contacts = move || {
        account.roster.with(|roster| {
            roster
                .sorted()
                .into_iter()
                .map(|contact| {
                    let presence = contact.presence();
                    let class = format!("contact {}", presence.availability.class());
                    let (open, remove) = (contact.jid.clone(), contact.jid.clone());
                    let pending = contact.pending.then_some(" (awaiting approval)");
                    view! {
                        <li class=class data-jid=contact.jid.clone() data-subscription=contact.subscription.clone()>
                            <button type="button" class="contact-open" on:click=move |_| account.select(Some(open.clone()))>
                                <bdi>{contact.label().to_owned()}</bdi>
                            </button>
                            <bdi class="presence">{presence.describe()}</bdi>
                            {pending}
                            <button type="button" class="remove" aria-label="Remove contact"
                                on:click=move |_| account.remove_contact(&remove)>"×"</button>
                        </li>
                    }
                })
                .collect_view()
        })
    };
    let requests = move || {
        account.roster.with(|roster| {
            roster
                .requests()
                .map(|jid| {
                    let (yes, no) = (jid.to_owned(), jid.to_owned());
                    view! {
                        <li class="request" data-jid=jid.to_owned()>
                            <bdi>{jid.to_owned()}</bdi>" wants to see your presence "
                            <button type="button" class="accept" on:click=move |_| account.answer_request(&yes, true)>"Accept"</button>
                            <button type="button" class="deny" on:click=move |_| account.answer_request(&no, false)>"Deny"</button>
                        </li>
                    }
                })
                .collect_view()
        })
    };
    let new_contact = RwSignal::new(String::new());
    let add = move |ev: SubmitEvent| {
        ev.prevent_default();
        account.add_contact(&new_contact.get_untracked());
        new_contact.set(String::new());
    };
    view! {
        <div class="roster">
            <h3>"Contacts"</h3>
            <ul class="requests" data-testid="requests">{requests}</ul>
            <ul class="contacts" data-testid="contacts">{contacts}</ul>
            <form class="add-contact" on:submit=add aria-label="Add a contact">
                <input type="text" bind:value=new_contact placeholder="name@domain" aria-label="Contact JID"
                    required data-testid="contact-jid" />
                <button type="submit" data-testid="contact-add">"Add"</button>
            </form>
        </div>
    }
}
